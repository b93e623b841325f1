/**
 * The benchmark runner (`npm run bench`): runs each benchmark in turn, prints its figure
 * lines as they come, then one PASS/MISS line per target.
 *
 * To add a benchmark: write `test/bench/<name>.bench.ts` exporting
 * `async function (report: BenchReport)` and add one line to BENCHMARKS.
 *
 * `npm run bench -- scale placement` runs only the benchmarks named (an unknown name is an error).
 *
 * Exit code: 0 whatever the targets say (a miss is a finding); 1 only if a benchmark could
 * not run (it threw). The next benchmark still runs.
 */
import * as os from "node:os";
import { BenchReport } from "./bench-report.js";
import { nullInvocation } from "./null-invocation.bench.js";
import { dsmFaults } from "./dsm-faults.bench.js";
import { dsmMemory } from "./dsm-memory.bench.js";
import { heap } from "./heap.bench.js";
import { nestedInvocation } from "./nested-invocation.bench.js";
import { commits } from "./commit.bench.js";
import { placement } from "./placement.bench.js";
import { scale } from "./scale.bench.js";
import { peerBaseline } from "./peer.bench.js";
import { atomicThreads } from "./atomic.bench.js";
import { threads } from "./threads.bench.js";
import { isolation } from "./isolation.bench.js";

type Benchmark = (report: BenchReport) => Promise<void>;

const BENCHMARKS: Array<[name: string, run: Benchmark]> = [
  ["null invocation", nullInvocation],
  ["DSM faults", dsmFaults],
  ["DSM memory", dsmMemory],
  ["persistent heap", heap],
  ["nested invocation", nestedInvocation],
  ["commits", commits],
  ["placement", placement],
  ["scale", scale], // minutes at its default 100,000 objects: SCALE_OBJECTS lowers it
  ["peer", peerBaseline], // Clouds next to an express + TypeORM + SQLite counter service (issue 11)
  ["atomic", atomicThreads], // atomic transfers next to plain nested ones (issue 12)
  ["threads", threads], // kill and deadline latency (issue 13)
  ["isolation", isolation], // object code in SES compartments next to a plain vm context (issue 15)
];

async function main(): Promise<number> {
  const report = new BenchReport();
  report.line(machine());
  let failed = 0;
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !BENCHMARKS.some(([name]) => name === w));
  if (unknown.length > 0) {
    console.error(`no benchmark ${unknown.join(", ")} (benchmarks: ${BENCHMARKS.map(([name]) => name).join(", ")})`);
    return 1;
  }
  for (const [name, run] of BENCHMARKS) {
    if (wanted.length > 0 && !wanted.includes(name)) continue;
    const started = performance.now();
    report.line(`== ${name}`);
    try {
      await run(report);
    } catch (err) {
      failed++;
      report.line(`!! ${name} could not run: ${(err as Error).stack ?? String(err)}`);
    }
    report.line(`   (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  report.printSummary();
  return failed === 0 ? 0 : 1;
}

/** Latencies depend on the machine and what else runs on it: say what it was. */
function machine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(" ");
  return `node ${process.version}, ${cpus.length} CPUs (${cpus[0]?.model.trim() ?? "unknown"}), load average ${load}`;
}

main().then((code) => (process.exitCode = code));
