/**
 * WorkingSetPlacement: the default policy (DESIGN §8, issue 10), in this order:
 *   1. an explicit location hint wins                                    -> "hint"
 *   2. stay where the caller is, if the target's working set is warm here
 *      and this server is not overloaded (a compute server only)       -> "stay-warm"
 *   3. the first warm sighting (LoadTable.warmOn: where this caller's last
 *      call of it ran, else the warmest), if it is not overloaded       -> "warm"
 *   4. the lighter (loadScore) of two distinct random live servers       -> "two-choices"
 * Rule 3 is what keeps a hot object with an exclusive entry on one server: its writes
 * invalidate the copies elsewhere, every reply says where its pages are now (a reply is
 * fresher than any report), and every caller follows. A server holding a few read-only
 * pages of it loses to the one holding them all.
 * "Overloaded" (well above the lightest server, or over the threshold while another is not)
 * counts running isibas and lag, not callers queued for a monitor (see PlacementOptions).
 * Pure; see PlacementPolicy.
 */
import type { Candidate } from "./load-table.js";
import { lightestScore, loadScore, overloaded, reportedScore, type PlacementDecision, type PlacementInput, type PlacementPolicy } from "./placement-policy.js";
import { resolvePlacementOptions, type PlacementOptions, type ResolvedPlacementOptions } from "./placement-options.js";

export class WorkingSetPlacement implements PlacementPolicy {
  readonly name = "working-set";
  private readonly options: ResolvedPlacementOptions;

  constructor(options: PlacementOptions = {}, private readonly random: () => number = Math.random) {
    this.options = resolvePlacementOptions(options);
  }

  place({ request, candidates, warm }: PlacementInput): PlacementDecision {
    if (request.hint) return { server: request.hint, reason: "hint" };
    const byId = new Map(candidates.map((c) => [c.id, c]));
    const lightest = lightestScore(candidates, this.options);
    const here = request.here === undefined ? undefined : byId.get(request.here);
    const warmHere = here && warm.find((w) => w.server === here.id);
    if (here && warmHere && !overloaded(here, this.options, lightest)) {
      return { server: here.id, reason: "stay-warm", detail: `${warmHere.pages} pages warm here` };
    }
    const skipped: string[] = [];
    for (const sighting of warm) {
      const c = byId.get(sighting.server);
      if (!c) continue;
      if (overloaded(c, this.options, lightest)) {
        skipped.push(`${c.id} (${reportedScore(c, this.options).toFixed(2)})`);
        continue;
      }
      return { server: c.id, reason: "warm", detail: `${sighting.pages} pages warm on ${c.id}` };
    }
    const choice = this.twoChoices(candidates);
    if (skipped.length === 0) return choice;
    return { ...choice, detail: `warm on ${skipped.join(", ")}: over ${this.options.overloadThreshold} or ${this.options.imbalanceMargin} above ${lightest.toFixed(2)}; ${choice.detail}` };
  }

  /** The lighter of two distinct random candidates (the only one if there is one). */
  private twoChoices(candidates: Candidate[]): PlacementDecision {
    const i = Math.floor(this.random() * candidates.length);
    if (candidates.length === 1) return { server: candidates[0].id, reason: "two-choices", detail: "the only live server" };
    let j = Math.floor(this.random() * (candidates.length - 1));
    if (j >= i) j++;
    const [a, b] = [candidates[i], candidates[j]];
    const [sa, sb] = [loadScore(a, this.options), loadScore(b, this.options)];
    const pick = sa <= sb ? a : b;
    return { server: pick.id, reason: "two-choices", detail: `${a.id} ${sa.toFixed(2)} vs ${b.id} ${sb.toFixed(2)}` };
  }
}
