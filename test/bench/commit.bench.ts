/**
 * Commits (DESIGN §7a): what crash-consistent commits cost an invocation that writes.
 *
 *   1. write invocation latency: `Rectangle.size(i, 2)` pinned to cs1 (two fields, committed
 *      from its write log when it returns, fsync before the reply), next to the same figure
 *      measured on this machine before commits carried write logs (BEFORE_WRITE_P50_US: the
 *      null-invocation benchmark's "write invocation" line at commit b287505, where whole
 *      pages were written back). Override with CLOUDS_BENCH_BEFORE_WRITE_P50_US to compare
 *      with a figure of your own machine.
 *   2. a lock release with a dirty page (the commit point) next to an invocation's final
 *      commit: `lockedWrite(v)` writes inside withLock, so its commit happens at the release
 *      and its end has nothing to commit; timed interleaved with `write(v)`.
 * Target: write invocation p50 <= 1.2x its value before.
 */
import * as path from "node:path";
import { connect } from "../../shell/client/cluster.js";
import type { Committer } from "../fixtures/committer.js";
import type { Rectangle } from "../../objects/examples/rectangle.js";
import { REPO_ROOT, withBenchCluster } from "./bench-cluster.js";
import type { BenchReport } from "./bench-report.js";
import { LABEL_WIDTH, formatLatency, timeInterleaved, warmUp } from "./latency.js";

const WARM_UP = 500;
const MEASURED = 2_000;
const ROUNDS = 10;
const TARGET = 1.2;
/** Measured at b287505 on the development machine (2 cores, load < 2): 992 and 965 µs in two runs, interleaved with runs of this version. */
const MEASURED_BEFORE_US = 978;
/** Write invocation p50 (µs) before write logs, on the 2-core development machine (npm run bench at b287505). */
const BEFORE_WRITE_P50_US = Number(process.env.CLOUDS_BENCH_BEFORE_WRITE_P50_US ?? 0) || MEASURED_BEFORE_US;

export async function commits(report: BenchReport): Promise<void> {
  await withBenchCluster({ compute: 2 }, async (bench) => {
    const cluster = await connect({ dir: bench.dir, workstation: "bench" });
    try {
      await cluster.load(path.join(REPO_ROOT, "test/fixtures/committer.ts"));
      await cluster.load(path.join(REPO_ROOT, "objects/examples/rectangle.ts"));
      const obj = (await cluster.create<Committer>("Committer", `BenchCommitter-${process.pid}`)).at("cs1");
      const rect = (await cluster.create<Rectangle>("Rectangle", `BenchCommitRect-${process.pid}`)).at("cs1");
      const ops = { size: (i: number) => rect.size(i, 2), write: (i: number) => obj.write(i), locked: (i: number) => obj.lockedWrite(i) };
      for (const op of Object.values(ops)) await warmUp(WARM_UP, op);
      const s = await timeInterleaved(ops, ROUNDS, MEASURED / ROUNDS);
      const [x, y] = await obj.values();
      if (x !== MEASURED - 1 || y !== MEASURED - 1) throw new Error(`values after the run are ${x}, ${y}, not ${MEASURED - 1}: a write was lost`);
      const r = s.size.p50 / BEFORE_WRITE_P50_US;
      report.line(`${formatLatency("write invocation size(i, 2), pinned cs1", s.size)}   ${r.toFixed(2)}x before write logs`);
      report.line(`${"  before write logs (b287505, recorded)".padEnd(LABEL_WIDTH)} p50 ${BEFORE_WRITE_P50_US.toFixed(1)} µs`);
      report.line(formatLatency("one-field write, final commit", s.write));
      report.line(`${formatLatency("one-field write in withLock, commit at release", s.locked)}   ${(s.locked.p50 / s.write.p50).toFixed(2)}x the final commit`);
      report.target(`write invocation p50 <= ${TARGET}x before write logs`, r <= TARGET, `${r.toFixed(2)}x (${s.size.p50.toFixed(1)} / ${BEFORE_WRITE_P50_US.toFixed(1)} µs)`);
    } finally {
      await cluster.close();
    }
  });
}
