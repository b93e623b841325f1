/**
 * formatReport: a torture run's result as the lines `npm run torture` prints — kills by role,
 * invocations acknowledged, errors by class (with what became of failed updates whose outcome
 * is unknown), heap figures, violations (each once, with where it was seen), duration.
 */
import type { TortureResult } from "./torture.js";
import type { Verdict } from "./ledger-verdict.js";

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
    ...errorLines(r),
    ...timeoutNote(r),
    ...heapLines("heap (live)", r.live),
    ...(r.afterRestart ? heapLines("heap (restart)", r.afterRestart) : []),
    `violations      ${r.violations.length}`,
    ...r.violations.slice(0, SHOWN).map((v) => `  ${v}`),
  ];
  if (r.violations.length > SHOWN) lines.push(`  ... and ${r.violations.length - SHOWN} more`);
  return lines;
}

/** One line per error class: count, where thrown, and (updates, unknown outcome) applied or not. */
function errorLines(r: TortureResult): string[] {
  const final = r.afterRestart ?? r.live;
  return [...r.log.errorsByClass()].map(([name, count]) => {
    const calls = r.log.failed().filter((c) => c.error!.name === name);
    const outcome = calls[0].error!.outcome;
    const servers = [...new Set(calls.map((c) => c.error!.server ?? "client"))].sort().join(" ");
    const t = final.ambiguous.get(name);
    const fate = t ? `, updates applied ${t.applied} / not applied ${t.notApplied}` : "";
    const sample = calls[0].error!.message.split("\n")[0].slice(0, 110);
    return `  ${name.padEnd(26)} ${String(count).padStart(5)}  [${outcome}${fate}] from ${servers}  e.g. "${sample}"`;
  });
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
