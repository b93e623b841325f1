/**
 * UniformRandomPlacement: a hint wins, otherwise any live server with equal chance, whatever
 * its load or working sets. Not for production: the baseline that benchmarks compare the
 * default policy against (`placement: "random"` in ConnectOptions / compute server options).
 */
import type { PlacementDecision, PlacementInput, PlacementPolicy } from "./placement-policy.js";

export class UniformRandomPlacement implements PlacementPolicy {
  readonly name = "random";

  constructor(private readonly random: () => number = Math.random) {}

  place({ request, candidates }: PlacementInput): PlacementDecision {
    if (request.hint) return { server: request.hint, reason: "hint" };
    return { server: candidates[Math.floor(this.random() * candidates.length)].id, reason: "random" };
  }
}
