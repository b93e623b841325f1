/**
 * Isolation (issue 15): what confining object code costs. The same figures on a compute
 * server that runs each class in an SES compartment of a locked-down realm (the default,
 * ra-kernel/hardened-realm.ts) and on one started with CLOUDS_UNCONFINED_OBJECT_CODE=1,
 * which evaluates classes in a plain `vm` context as before issue 15
 * (ra-kernel/confinement-switch.ts):
 *
 *   null invocation   Rectangle.area() from this process, warm, p50 and p99
 *                     (newRectangle, as in null-invocation.bench.ts)
 *   field read/write  inside a method, warm, ns per access (HeapValues.timeAccess, as the
 *                     "in-method access" of heap.bench.ts; the median of ACCESS_RUNS calls)
 *
 * ROUNDS rounds; in each, one cluster per mode (1 name, 1 data, 1 compute server), one after
 * the other, never both at once: on a 2-CPU machine they would take each other's CPU. Which
 * mode goes first alternates, so drift on the machine hits both alike. A figure is the
 * median of its rounds; every round's value is printed next to it, so the noise shows.
 *
 * Before measuring, each compute server's log must say which mode it runs in (its
 * "WARNING: CLOUDS_UNCONFINED_OBJECT_CODE=1" line, servers/compute/main.ts): two clusters in
 * the same mode would compare nothing with nothing.
 *
 * Targets (issue 15): confined at most 1.1x unconfined for the null invocation p50 and the
 * field read and write. The p99 ratio is printed without a target: on a small shared VM it
 * is mostly scheduling noise.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import type { HeapValues } from "../fixtures/heap-values.js";
import { REPO_ROOT, withBenchCluster, type BenchCluster } from "./bench-cluster.js";
import type { BenchReport } from "./bench-report.js";
import { timeSequential, warmUp } from "./latency.js";
import { newRectangle } from "./null-invocation.bench.js";

const ROUNDS = 3;
const WARM_UP = 2_000;
const MEASURED = 5_000;
const HEAP_FIXTURE = path.join(REPO_ROOT, "test/fixtures/heap-values.ts");
/**
 * Loops per timeAccess call: Date.now (all a class has) ticks in ms, so ~2 ns resolution.
 * Fewer than heap.bench.ts's 2,000,000: each call also times `push`, and the group should
 * stay within ~3 minutes even when the confined figures are several times the others.
 */
const LOOPS = 500_000;
const ACCESS_WARM_UP_LOOPS = 100_000;
const ACCESS_RUNS = 3;
const RATIO_TARGET = 1.1;
const LABEL = 54;
/** What an unconfined compute server prints first in its log (servers/compute/main.ts). */
const UNCONFINED_WARNING = "WARNING: CLOUDS_UNCONFINED_OBJECT_CODE=1";

type Mode = "unconfined" | "confined";

const MODES: Record<Mode, NodeJS.ProcessEnv> = {
  unconfined: { CLOUDS_UNCONFINED_OBJECT_CODE: "1" },
  // "0", not left out: a CLOUDS_UNCONFINED_OBJECT_CODE=1 this process inherited would
  // otherwise make both clusters unconfined (the mode check would then stop the run).
  confined: { CLOUDS_UNCONFINED_OBJECT_CODE: "0" },
};

/** One cluster's figures: µs for the invocation, ns per access for the fields. */
interface Figures {
  p50: number;
  p99: number;
  read: number;
  write: number;
}

/** How each figure is named and printed, and whether the issue's 1.1x target applies. */
const FIGURES: Array<{ key: keyof Figures; label: string; unit: (v: number) => string; target: boolean }> = [
  { key: "p50", label: "null invocation p50", unit: us, target: true },
  { key: "p99", label: "null invocation p99", unit: us, target: false },
  { key: "read", label: "field read in a method (warm)", unit: ns, target: true },
  { key: "write", label: "field write in a method (warm)", unit: ns, target: true },
];

export async function isolation(report: BenchReport): Promise<void> {
  const runs: Record<Mode, Figures[]> = { unconfined: [], confined: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const order: Mode[] = round % 2 === 0 ? ["unconfined", "confined"] : ["confined", "unconfined"];
    for (const mode of order) runs[mode].push(await measure(mode));
  }
  report.line("unconfined: CLOUDS_UNCONFINED_OBJECT_CODE=1, classes in a vm context (before issue 15); confined: SES compartments (default)");
  report.line(`medians of ${ROUNDS} rounds, then each round's value (round 1 starts unconfined, round 2 confined, ...):`);
  for (const figure of FIGURES) summarize(report, figure, runs);
}

/** A fresh cluster in `mode`, its figures, the cluster stopped. */
function measure(mode: Mode): Promise<Figures> {
  return withBenchCluster({ compute: 1, env: MODES[mode] }, async (bench) => {
    expectMode(bench, mode);
    const cluster = await connect({ dir: bench.dir, workstation: "bench" });
    try {
      return { ...(await nullInvocation(cluster)), ...(await fieldAccess(cluster)) };
    } finally {
      await cluster.close();
    }
  });
}

/** Throws unless every compute server's log says it runs in `mode` (see the header). */
function expectMode(bench: BenchCluster, mode: Mode): void {
  for (const server of bench.info.servers.filter((s) => s.role === "compute")) {
    const unconfined = readFileSync(server.log, "utf8").includes(UNCONFINED_WARNING);
    if (unconfined !== (mode === "unconfined")) {
      throw new Error(`${server.id} runs object code ${unconfined ? "unconfined" : "confined"}, expected ${mode}: its environment did not reach it`);
    }
  }
}

async function nullInvocation(cluster: Cluster): Promise<Pick<Figures, "p50" | "p99">> {
  const rect = (await newRectangle(cluster)).at("cs1");
  await warmUp(WARM_UP, () => rect.area());
  const s = await timeSequential(MEASURED, () => rect.area());
  const area = await rect.area();
  if (area !== 50) throw new Error(`Rectangle.area() returned ${area}, expected 50`);
  return { p50: s.p50, p99: s.p99 };
}

/** The median of ACCESS_RUNS in-method timings, after one untimed run (pages and JIT warm). */
async function fieldAccess(cluster: Cluster): Promise<Pick<Figures, "read" | "write">> {
  await cluster.load(HEAP_FIXTURE);
  const h = (await cluster.create<HeapValues>("HeapValues", `BenchIsolation-${process.pid}-${Date.now()}`)).at("cs1");
  await h.timeAccess(ACCESS_WARM_UP_LOOPS);
  const times = [];
  for (let i = 0; i < ACCESS_RUNS; i++) times.push(await h.timeAccess(LOOPS));
  return { read: median(times.map((t) => t.read)), write: median(times.map((t) => t.write)) };
}

/** One line per mode, then the ratio (medians of the rounds); a target where the issue sets one. */
function summarize(report: BenchReport, figure: (typeof FIGURES)[number], runs: Record<Mode, Figures[]>): void {
  const values = (mode: Mode) => runs[mode].map((f) => f[figure.key]);
  for (const mode of ["unconfined", "confined"] as const) {
    report.line(`${`${figure.label}, ${mode}`.padEnd(LABEL)} ${figure.unit(median(values(mode)))}   rounds ${values(mode).map(figure.unit).join(" ")}`);
  }
  const [c, u] = [median(values("confined")), median(values("unconfined"))];
  const ratio = c / u;
  const perRound = values("confined").map((v, r) => (v / values("unconfined")[r]).toFixed(2)).join(" ");
  const target = figure.target ? ` (target <= ${RATIO_TARGET}x)` : "";
  report.line(`${`${figure.label}, confined / unconfined`.padEnd(LABEL)} ${ratio.toFixed(2)}x${target}   rounds ${perRound}`);
  if (figure.target) {
    report.target(`${figure.label} confined <= ${RATIO_TARGET}x unconfined (issue 15)`, ratio <= RATIO_TARGET, `${ratio.toFixed(2)}x (${figure.unit(c).trim()} / ${figure.unit(u).trim()})`);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** µs as ` 123.4 µs`. */
function us(value: number): string {
  return `${value.toFixed(1).padStart(6)} µs`;
}

/** ns as `   12 ns`. */
function ns(value: number): string {
  return `${value.toFixed(0).padStart(4)} ns`;
}
