/**
 * LedgerVerdict: compares what each Ledger holds at the end (its `check()`) with the CallLog.
 *
 * For each object, the add updates (its `items`) and each client's append updates (its
 * `own[c]`) are sequences of (client, seq). In each:
 *   - every acknowledged update is there, exactly once;
 *   - no update is there twice, and none that no client sent (or sent to another object);
 *   - an update whose call failed is there at most once: if its error said its writes were
 *     lost ("lost", call-outcomes.ts) it must not be there; if the outcome is unknown
 *     either is fine, and it is counted (applied / not applied, per error class);
 *   - order: an acknowledged update comes before every update of the same client sent
 *     after it returned (a client sends one update at a time), so no such later update may
 *     precede it. Updates whose call failed may land late (a timed-out call may still run).
 * Plus what the object says itself: its class invariants and its heap check, by path.
 */
import type { LedgerCheck } from "../fixtures/ledger.js";
import type { CallKind, CallLog, CallRecord } from "./call-log.js";

export interface AmbiguousTally {
  applied: number;
  notApplied: number;
}

export interface Verdict {
  violations: string[];
  /** Failed updates with an unknown outcome, by error class. */
  ambiguous: Map<string, AmbiguousTally>;
  /** Heap figures per object label. */
  heaps: Map<string, { live: number; leaked: number; free: number }>;
  /** Updates found and checked. */
  updatesFound: number;
}

/** One object's check result, or the error that kept us from getting it. */
export type ObjectCheck = { label: string; object: number; check: LedgerCheck } | { label: string; object: number; error: string };

export function judge(checks: ObjectCheck[], log: CallLog, clients: number): Verdict {
  const verdict: Verdict = { violations: [], ambiguous: new Map(), heaps: new Map(), updatesFound: 0 };
  for (const c of checks) {
    if ("error" in c) {
      verdict.violations.push(`${c.label}: check() failed: ${c.error}`);
      continue;
    }
    judgeObject(verdict, c.label, c.object, c.check, log, clients);
  }
  return verdict;
}

function judgeObject(verdict: Verdict, label: string, object: number, check: LedgerCheck, log: CallLog, clients: number): void {
  for (const v of check.violations) verdict.violations.push(`${label}: ${v}`);
  for (const v of check.heap.violations) verdict.violations.push(`${label} heap: ${v}`);
  verdict.heaps.set(label, { live: check.heap.liveBlocks, leaked: check.heap.leakedBlocks, free: check.heap.freeBlocks });
  const calls = (kind: CallKind, client?: number) => log.calls.filter((r) => r.object === object && r.kind === kind && (client === undefined || r.client === client));
  // What cannot be read is not compared (the object's own violations say why).
  if (check.items) judgeSequence(verdict, `${label}.items`, "add", check.items.map(([c, s]) => [c, s] as const), calls("add"));
  if (!check.own) return;
  for (let c = 0; c < clients; c++) {
    const list = check.own[c];
    if (list) judgeSequence(verdict, `${label}.own[${c}]`, "append", list.map((s) => [c, s] as const), calls("append", c));
  }
  if (check.own.length !== clients) verdict.violations.push(`${label}: own has ${check.own.length} logs, the object was made for ${clients} clients`);
}

/** Checks one sequence of updates (client, seq) against the calls that may have made it. */
function judgeSequence(verdict: Verdict, label: string, kind: CallKind, found: (readonly [number, number])[], calls: CallRecord[]): void {
  const sent = new Map(calls.map((r) => [key(r.client, r.seq), r]));
  const at = new Map<string, number>();
  found.forEach(([c, s], i) => {
    const k = key(c, s);
    const first = at.get(k);
    if (first !== undefined) verdict.violations.push(`${label}: ${kind}(${c}, ${s}) is there twice (at ${first} and ${i})`);
    else at.set(k, i);
    if (!sent.has(k)) verdict.violations.push(`${label}: holds ${kind}(${c}, ${s}) at ${i}, which no client sent to this object`);
  });
  verdict.updatesFound += found.length;
  for (const r of calls) judgeCall(verdict, label, r, at.has(key(r.client, r.seq)));
  judgeOrder(verdict, label, kind, found, sent);
}

function judgeCall(verdict: Verdict, label: string, r: CallRecord, applied: boolean): void {
  const what = `${r.kind}(${r.client}, ${r.seq})${r.at ? ` at ${r.at}` : ""} (sent t=${(r.startedMs / 1000).toFixed(1)}s)`;
  if (r.ok) {
    if (!applied) verdict.violations.push(`${label}: acknowledged ${what}, returned ${JSON.stringify(r.result)}, is missing`);
    return;
  }
  const e = r.error!;
  if (e.outcome === "lost" && applied) verdict.violations.push(`${label}: ${what} failed with ${e.name} (its writes lost, it says) but is there: ${e.message.split("\n")[0]}`);
  if (e.outcome !== "unknown") return;
  const tally = verdict.ambiguous.get(e.name) ?? { applied: 0, notApplied: 0 };
  if (applied) tally.applied++;
  else tally.notApplied++;
  verdict.ambiguous.set(e.name, tally);
}

/** No update of a client may precede an acknowledged one of the same client sent before it. */
function judgeOrder(verdict: Verdict, label: string, kind: CallKind, found: (readonly [number, number])[], sent: Map<string, CallRecord>): void {
  const highest = new Map<number, number>();
  found.forEach(([c, s], i) => {
    const before = highest.get(c) ?? -1;
    if (s < before && sent.get(key(c, s))?.ok) {
      verdict.violations.push(`${label}: acknowledged ${kind}(${c}, ${s}) is at ${i}, after ${kind}(${c}, ${before}), which client ${c} sent only once it had returned`);
    }
    highest.set(c, Math.max(before, s));
  });
}

function key(client: number, seq: number): string {
  return `${client}:${seq}`;
}
