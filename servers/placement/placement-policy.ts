/**
 * PlacementPolicy: the contract of a placement strategy — given what this process knows
 * (candidates and their loads, where the target's working set is warm, where the caller
 * is), choose the compute server for one invocation or creation, and say why.
 *
 *   const d = policy.place({ request: { object, here: "cs1" }, candidates, warm });
 *   d.server, d.reason ("stay-warm"), d.detail
 *
 * Implementations are small and swappable (WorkingSetPlacement, the default, and
 * UniformRandomPlacement); the Placer runs them at every invocation, workstation and
 * nested alike, and records each decision. A policy is pure: it neither connects nor
 * waits, it reads its input only (randomness comes from `random`, so tests can fix it).
 * It must not be handed an empty candidate list (the Placer refuses that first).
 */
import type { ServerId, SysName } from "../../ra-kernel/ids.js";
import type { Candidate, WarmSighting } from "./load-table.js";
import type { ResolvedPlacementOptions } from "./placement-options.js";

/** Why a server was chosen; each is counted in /metrics and kept in the decision log. */
export type PlacementReason =
  /** The caller named the server (`@cs2`, `ref.at("cs2")`). */
  | "hint"
  /** The target's working set is warm where the caller runs, which is under its threshold. */
  | "stay-warm"
  /** The target's working set is warm on that server, which is under its threshold. */
  | "warm"
  /** The lighter of two random live servers (nothing warm, or every warm server overloaded). */
  | "two-choices"
  /** Uniformly random (UniformRandomPlacement, for comparison). */
  | "random";

export const PLACEMENT_REASONS: readonly PlacementReason[] = ["hint", "stay-warm", "warm", "two-choices", "random"];

export interface PlacementRequest {
  /** The target object; absent for a creation (nothing is warm yet). */
  object?: SysName;
  /** An explicit location hint. */
  hint?: ServerId;
  /** The compute server the caller runs on (nested invocations only; a workstation has no "here"). */
  here?: ServerId;
}

export interface PlacementInput {
  request: PlacementRequest;
  /** Live servers, never empty (`here` among them when the caller is a compute server). */
  candidates: Candidate[];
  /** Where the target's working set was seen warm, most recent first. */
  warm: WarmSighting[];
}

export interface PlacementDecision {
  server: ServerId;
  reason: PlacementReason;
  /** A few words for `trace`, e.g. "warm on cs2 (12 pages) but cs2 overloaded (3.10)". */
  detail?: string;
}

export interface PlacementPolicy {
  readonly name: string;
  place(input: PlacementInput): PlacementDecision;
}

/** The score a server reported itself (no in-flight part): what `overloadThreshold` is compared to. */
export function reportedScore(c: Candidate, o: ResolvedPlacementOptions): number {
  if (!c.load) return 0;
  const workers = Math.max(1, c.load.workers);
  return (o.runWeight * c.load.running) / workers + (o.lagWeight * c.load.lagMs) / o.lagScaleMs + o.cpuWeight * c.load.cpu;
}

/** The full load score: the reported part plus this caller's calls in flight there. */
export function loadScore(c: Candidate, o: ResolvedPlacementOptions): number {
  const workers = Math.max(1, c.load?.workers ?? 1);
  return reportedScore(c, o) + (o.inflightWeight * c.inflight) / workers;
}

/**
 * More than `imbalanceMargin` above `lightest` (the lowest reported score among live servers;
 * omitted: as if an idle one were live), or over `overloadThreshold` while some server is not:
 * busy, with somewhere clearly better to go. When every server is over the threshold, only
 * the margin counts: moving a warm object between busy servers adds its pages' and monitor's
 * trips to the work (measured: 32 hot objects on two saturated servers moved on a quarter of
 * their calls when the threshold alone sufficed).
 */
export function overloaded(c: Candidate, o: ResolvedPlacementOptions, lightest = 0): boolean {
  const score = reportedScore(c, o);
  return score - lightest > o.imbalanceMargin || (score > o.overloadThreshold && lightest <= o.overloadThreshold);
}

/** The lowest reported score among candidates. */
export function lightestScore(candidates: Candidate[], o: ResolvedPlacementOptions): number {
  return Math.min(...candidates.map((c) => reportedScore(c, o)));
}
