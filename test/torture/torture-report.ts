/**
 * formatReport: a torture run's result as the lines `npm run torture` prints — kills by role,
 * invocations acknowledged, errors by class (with what became of failed updates whose outcome
 * is unknown), heap figures, violations (each once, with where it was seen), duration.
 */
import type { TortureResult } from "./torture.js";
import type { Verdict } from "./ledger-verdict.js";

/** A data server killed this long before a call began may still doom it (its compute server learns late). */
const LEASE_WINDOW_MS = 5000;

/** Violations printed in full; the rest are counted. */
const SHOWN = 60;

export function formatReport(r: TortureResult): string[] {
  const k = r.nemesis.kills;
  const lines = [
    "== torture result",
    `seed            ${r.options.seed}  (replay the plan: --seed ${r.options.seed})`,
    `duration        ${(r.durationMs / 1000).toFixed(1)} s (workload ${(r.workloadMs / 1000).toFixed(1)} s)`,
    `objects         ${r.placement.join(", ")}`,
    `kills           name ${k.name}, data ${k.data}, compute ${k.compute} (${k.name + k.data + k.compute} in all); restores ${r.nemesis.restores}` +
      (r.nemesis.retriedRestores ? ` (${r.nemesis.retriedRestores} needed retries)` : ""),
    `acknowledged    ${r.log.acknowledged()} (add ${r.log.acknowledged("add")}, append ${r.log.acknowledged("append")}, audit ${r.log.acknowledged("audit")})`,
    `errors          ${r.log.failed().length}`,
    ...(r.bank.accounts > 0 ? [`bank            ${r.bank.acked} atomic transfers acknowledged, ${r.bank.failed} failed, ${r.bank.refused} overdrafts refused (${r.bank.accounts} accounts)${r.bank.failedBy.length ? `; failed: ${r.bank.failedBy.map(([n, c]) => `${n} ${c}`).join(", ")}` : ""}`] : []),
    `churn           ${r.churn.deactivated} objects deactivated, ${r.churn.evicted} pages evicted (${r.churn.released} owned ones given home) on the compute servers, at least`,
    ...errorLines(r),
    ...collateralLine(r),
    ...timeoutNote(r),
    ...heapLines("heap (live)", r.live),
    ...(r.afterRestart ? heapLines("heap (restart)", r.afterRestart) : []),
    ...violationLines(r.violations),
  ];
  return lines;
}

/**
 * Violations grouped by shape (numbers but object labels masked: "n is 84 but items holds 83"
 * seen by ten audits is one line, ×10), each group shown by its first instance.
 */
function violationLines(violations: string[]): string[] {
  const groups = new Map<string, { first: string; count: number }>();
  for (const v of violations) {
    const key = v.replace(/(?<![T\d])\d+(\.\d+)?/g, "#");
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { first: v, count: 1 });
  }
  const lines = [`violations      ${violations.length}${groups.size < violations.length ? ` (${groups.size} kinds; each kind shown once, with how many times it was seen)` : ""}`];
  for (const { first, count } of [...groups.values()].slice(0, SHOWN)) lines.push(`  ${count > 1 ? `x${count} ` : ""}${first}`);
  if (groups.size > SHOWN) lines.push(`  ... and ${groups.size - SHOWN} more kinds`);
  return lines;
}

/** One line per error class: count, where thrown, and (updates, unknown outcome) applied or not. */
function errorLines(r: TortureResult): string[] {
  const final = r.afterRestart ?? r.live;
  return [...r.log.errorsByClass()].map(([name, count]) => {
    const calls = r.log.failed().filter((c) => c.error!.name === name);
    const outcomes = new Map<string, number>();
    for (const c of calls) outcomes.set(c.error!.outcome, (outcomes.get(c.error!.outcome) ?? 0) + 1);
    const outcome = outcomes.size === 1 ? [...outcomes.keys()][0] : [...outcomes].map(([o, n]) => `${o} ${n}`).join(", ");
    const servers = [...new Set(calls.map((c) => c.error!.server ?? "client"))].sort().join(" ");
    const t = final.ambiguous.get(name);
    const fate = t ? `; unknown updates: applied ${t.applied}, not ${t.notApplied}` : "";
    const sample = calls[0].error!.message.split("\n")[0].slice(0, 110);
    return `  ${name.padEnd(26)} ${String(count).padStart(5)}  [${outcome}${fate}] from ${servers}  e.g. "${sample}"`;
  });
}

/**
 * How much writes lost cost beyond the crashed servers (DESIGN §7a: a crash loses exactly
 * the crashed server's uncommitted segments): updates that failed saying their writes were
 * not applied (PagesLostError) with no data server killed from a lease before the call
 * began to its end. A compute server's crash aborts nothing elsewhere, so expect 0.
 */
function collateralLine(r: TortureResult): string[] {
  const lost = r.log.failed().filter((c) => c.error!.name === "PagesLostError");
  if (lost.length === 0) return [];
  const kills = r.nemesis.dataKillsAt;
  const near = (c: { startedMs: number; endedMs: number }) => kills.some((t) => t >= c.startedMs - LEASE_WINDOW_MS && t <= c.endedMs);
  const collateral = lost.filter((c) => !near(c));
  const reasons = new Map<string, number>();
  for (const c of collateral) {
    const why = c.error!.message.replace(/^.*were NOT applied: /, "").replace(/\d+/g, "#").slice(0, 160);
    reasons.set(why, (reasons.get(why) ?? 0) + 1);
  }
  return [
    `  of the ${lost.length} PagesLostError, ${collateral.length} with no data server killed from ${LEASE_WINDOW_MS / 1000} s before the call to its end (a compute server's crash aborts nothing elsewhere)`,
    ...[...reasons].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([why, n]) => `    ${n}x ${why}`),
    ...(collateral.length > 0 ? [`    calls at ${collateral.slice(0, 8).map((c) => `t=${(c.startedMs / 1000).toFixed(1)}-${(c.endedMs / 1000).toFixed(1)}s ${c.exclusive ? "addExclusive" : c.kind} T${c.object}${c.at ? ` @${c.at}` : ""}`).join(", ")}`] : []),
  ];
}

function heapLines(title: string, v: Verdict): string[] {
  const parts = [...v.heaps].map(([label, h]) => `${label} ${h.live} live / ${h.leaked} leaked / ${h.free} free`);
  return parts.length ? [`${title.padEnd(16)}${parts.join("; ")}`] : [];
}

/** Timed-out calls may still have been running when the live check read the objects. */
function timeoutNote(r: TortureResult): string[] {
  const n = r.log.failed().filter((c) => c.error!.name === "RequestTimeoutError").length;
  return n === 0 ? [] : [`  (${n} calls timed out: they may have run on during the live check; the check after the restart is immune)`];
}
