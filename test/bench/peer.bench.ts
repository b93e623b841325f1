/**
 * Peer baseline (issue 11): a persisted counter on Clouds next to the same counter as a plain
 * service built from the project's own dependencies — express 5 + TypeORM + better-sqlite3,
 * WAL, synchronous=FULL, one transaction per increment (peer/counter-service.ts).
 *
 * Both systems run the same workloads (peer/workload-runner.ts), each from a driver process
 * of its own (peer/http-driver.ts: HTTP keep-alive, 32 sockets; peer/clouds-driver.ts: the
 * typed client, default placement and durability, objects/examples/counter.ts):
 *   1. sequential increment   2,000 increments of one counter, one at a time (after 200 untimed)
 *   2. one object, 32 in flight   32 loops incrementing one counter for 5 s (after 1 s untimed)
 *   3. 32 objects, 32 in flight   loop i increments counter i, 5 s (after 1 s untimed)
 *   4. sequential read        2,000 reads of one counter (after 200 untimed)
 * and, on the peer, a raw HTTP round trip (POST /null) for context. After every increment
 * workload each counter must have grown by the increments acknowledged, or the benchmark
 * fails (LostUpdateError).
 *
 * REPETITIONS repetitions, interleaved (peer, Clouds, peer, Clouds, ...) so drift on the
 * machine hits both alike, each on fresh state: a new peer process and database, a new
 * cluster (1 name, 1 data, 2 compute servers). Figures are the median of the repetitions.
 * For workload 2 the server processes' CPU time (/proc utime + stime) is taken before and
 * after: increments per server CPU-second — the peer's one process, every Clouds server.
 *
 * Targets (issue 11): sequential increment p50 <= 0.6x the peer's; one object, 32 in
 * flight >= 2x the peer's throughput; 32 objects >= 3x; sequential read p50 <= 0.6x.
 */
import { withBenchCluster } from "./bench-cluster.js";
import type { BenchReport } from "./bench-report.js";
import { LABEL_WIDTH, type LatencySummary } from "./latency.js";
import { cpuSeconds } from "./process-cpu.js";
import { withDriver, type DriverChild } from "./peer/driver-child.js";
import type { Workload, WorkloadResult } from "./peer/driver-protocol.js";
import { withPeerService } from "./peer/peer-service.js";

const REPETITIONS = 3;
const SEQUENTIAL_WARM_UP = 200;
const SEQUENTIAL = 2_000;
const LOOPS = 32;
const LOOP_MS = 5_000;
const LOOP_WARM_UP_MS = 1_000;
const SEQ = "seq";
const HOT = "hot";
const SPREAD = Array.from({ length: LOOPS }, (_, i) => `spread-${i}`);
const TARGETS = { increment: 0.6, hot: 2, spread: 3, read: 0.6 };

type Throughput = Extract<WorkloadResult, { kind: "throughput" }>;

/** One repetition on one system. */
interface Figures {
  increment: LatencySummary;
  hot: Throughput;
  spread: Throughput;
  read: LatencySummary;
  /** Server CPU seconds during workload 2, by server ("peer" for the peer's process). */
  hotCpu: Map<string, number>;
  /** The same during workload 3 (where the work goes once there are many objects). */
  spreadCpu: Map<string, number>;
  /** The peer's POST /null round trip. */
  nullRtt?: LatencySummary;
  /** The peer's PRAGMAs as SQLite reads them back. */
  settings?: Record<string, unknown>;
}

interface ServerProcess {
  id: string;
  pid: number;
}

export async function peerBaseline(report: BenchReport): Promise<void> {
  const runs: Record<"peer" | "clouds", Figures[]> = { peer: [], clouds: [] };
  for (let r = 1; r <= REPETITIONS; r++) {
    runs.peer.push(await peerRun());
    if (r === 1) report.line(`   peer: express 5 + TypeORM (better-sqlite3), PRAGMAs read back: ${JSON.stringify(runs.peer[0].settings)}`);
    report.line(repetitionLine(r, "peer", runs.peer[r - 1]));
    runs.clouds.push(await cloudsRun());
    report.line(repetitionLine(r, "clouds", runs.clouds[r - 1]));
  }
  summarizeRuns(report, runs.peer, runs.clouds);
}

async function peerRun(): Promise<Figures> {
  return withPeerService((peer) =>
    withDriver("http-driver.js", { port: peer.port }, async (driver) => {
      const figures = await runWorkloads(driver, [{ id: "peer", pid: peer.pid }]);
      figures.nullRtt = latency(await driver.run({ kind: "null-round-trip", warmUp: SEQUENTIAL_WARM_UP, count: SEQUENTIAL }));
      figures.settings = peer.settings;
      return figures;
    }),
  );
}

async function cloudsRun(): Promise<Figures> {
  return withBenchCluster({ compute: 2 }, (bench) =>
    withDriver("clouds-driver.js", { dir: bench.dir }, (driver) => runWorkloads(driver, bench.info.servers.map((s) => ({ id: s.id, pid: s.pid })))),
  );
}

/** Workloads 1-4 in order on fresh counters; the CPU of `servers` around workloads 2 and 3. */
async function runWorkloads(driver: DriverChild, servers: ServerProcess[]): Promise<Figures> {
  await driver.run({ kind: "prepare", ids: [SEQ, HOT, ...SPREAD] });
  const increment = latency(await driver.run({ kind: "sequential-increment", id: SEQ, warmUp: SEQUENTIAL_WARM_UP, count: SEQUENTIAL }));
  const [hot, hotCpu] = await timedLoops(driver, [HOT], servers);
  const [spread, spreadCpu] = await timedLoops(driver, SPREAD, servers);
  const read = latency(await driver.run({ kind: "sequential-read", id: SEQ, warmUp: SEQUENTIAL_WARM_UP, count: SEQUENTIAL }));
  return { increment, hot, spread, read, hotCpu, spreadCpu };
}

/** LOOPS loops on `ids`: LOOP_WARM_UP_MS untimed, then LOOP_MS timed, with the servers' CPU seconds around it. */
async function timedLoops(driver: DriverChild, ids: string[], servers: ServerProcess[]): Promise<[Throughput, Map<string, number>]> {
  await driver.run(loops(ids, LOOP_WARM_UP_MS));
  const before = cpuOf(servers);
  const result = throughput(await driver.run(loops(ids, LOOP_MS)));
  return [result, difference(cpuOf(servers), before)];
}

function loops(ids: string[], ms: number): Workload {
  return { kind: "increment-loops", ids, loops: LOOPS, ms };
}

function latency(result: WorkloadResult): LatencySummary {
  if (result.kind !== "latency") throw new Error(`expected latencies, got ${result.kind}`);
  return result.summary;
}

function throughput(result: WorkloadResult): Throughput {
  if (result.kind !== "throughput") throw new Error(`expected a throughput, got ${result.kind}`);
  return result;
}

/** CPU seconds of each server now; a server gone is an error (its figure would be wrong). */
function cpuOf(servers: ServerProcess[]): Map<string, number> {
  return new Map(servers.map((s) => {
    const seconds = cpuSeconds(s.pid);
    if (seconds === null) throw new Error(`no /proc/${s.pid}/stat for server ${s.id}: it is gone, or this is not Linux`);
    return [s.id, seconds];
  }));
}

function difference(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  return new Map([...after].map(([id, s]) => [id, s - before.get(id)!]));
}

function totalCpu(f: Figures): number {
  return [...f.hotCpu.values()].reduce((a, b) => a + b, 0);
}

/** Increments of workload 2 per CPU-second of the servers. */
function perCpuSecond(f: Figures): number {
  return f.hot.increments / totalCpu(f);
}

/** Two lines: the figures, then the server CPU seconds in workloads 2 and 3. */
function repetitionLine(r: number, system: string, f: Figures): string {
  const cpu = (m: Map<string, number>) => [...m].map(([id, s]) => `${id} ${s.toFixed(2)}`).join(", ");
  const extra = f.nullRtt ? `, POST /null p50 ${ms(f.nullRtt.p50).trim()}` : "";
  return `   rep ${r} ${system.padEnd(6)} increment p50 ${ms(f.increment.p50).trim()} p99 ${ms(f.increment.p99).trim()}, ` +
    `1 object ${rate(f.hot.perSecond).trim()} (call p50 ${ms(f.hot.latency.p50).trim()}), ${LOOPS} objects ${rate(f.spread.perSecond).trim()} (call p50 ${ms(f.spread.latency.p50).trim()}), ` +
    `read p50 ${ms(f.read.p50).trim()}${extra}\n` +
    `   rep ${r} ${system.padEnd(6)} server CPU s, 1 object: ${cpu(f.hotCpu)}; ${LOOPS} objects: ${cpu(f.spreadCpu)}`;
}

function summarizeRuns(report: BenchReport, peer: Figures[], clouds: Figures[]): void {
  const m = (runs: Figures[], pick: (f: Figures) => number) => median(runs.map(pick));
  const row = (label: string, pick: (f: Figures) => number, unit: (v: number) => string, target?: string) => {
    const [c, p] = [m(clouds, pick), m(peer, pick)];
    report.line(`${label.padEnd(LABEL_WIDTH)} clouds ${unit(c)}   peer ${unit(p)}   ratio ${(c / p).toFixed(2)}x${target ? ` (target ${target})` : ""}`);
    return { c, p, ratio: c / p };
  };
  report.line(`medians of ${REPETITIONS} repetitions:`);
  const inc = row("sequential increment p50", (f) => f.increment.p50, ms, `<= ${TARGETS.increment}x`);
  row("sequential increment p99", (f) => f.increment.p99, ms);
  const hot = row(`one object, ${LOOPS} in flight`, (f) => f.hot.perSecond, rate, `>= ${TARGETS.hot}x`);
  const spread = row(`${LOOPS} objects, ${LOOPS} in flight`, (f) => f.spread.perSecond, rate, `>= ${TARGETS.spread}x`);
  const read = row("sequential read p50", (f) => f.read.p50, ms, `<= ${TARGETS.read}x`);
  row("one object: increments per server CPU-s", perCpuSecond, (v) => v.toFixed(0).padStart(6), "");
  report.line(`${"one object: server CPU s (median rep)".padEnd(LABEL_WIDTH)} clouds ${cpuBreakdown(clouds)}   peer ${m(peer, totalCpu).toFixed(2)}`);
  report.line(`${"raw HTTP round trip (POST /null) p50".padEnd(LABEL_WIDTH)} peer ${ms(m(peer, (f) => f.nullRtt!.p50))} (context)`);
  targets(report, inc, hot, spread, read);
}

/**
 * `2.31 (ns1 0.02, ds1 0.90, cs1 1.30, cs2 0.09)`: the repetition with the median total, and
 * its servers (per-server medians would mix repetitions where the counter ran elsewhere).
 */
function cpuBreakdown(runs: Figures[]): string {
  const mid = [...runs].sort((a, b) => totalCpu(a) - totalCpu(b))[Math.floor(runs.length / 2)];
  const each = [...mid.hotCpu].map(([id, s]) => `${id} ${s.toFixed(2)}`).join(", ");
  return `${totalCpu(mid).toFixed(2)} (${each})`;
}

type Compared = { c: number; p: number; ratio: number };

function targets(report: BenchReport, inc: Compared, hot: Compared, spread: Compared, read: Compared): void {
  const lat = (x: Compared) => `${x.ratio.toFixed(2)}x (${ms(x.c).trim()} / ${ms(x.p).trim()})`;
  const thr = (x: Compared) => `${x.ratio.toFixed(2)}x (${rate(x.c).trim()} / ${rate(x.p).trim()})`;
  report.target(`sequential persisted increment p50 <= ${TARGETS.increment}x peer`, inc.ratio <= TARGETS.increment, lat(inc));
  report.target(`one object, ${LOOPS} in flight >= ${TARGETS.hot}x peer throughput`, hot.ratio >= TARGETS.hot, thr(hot));
  report.target(`${LOOPS} objects, ${LOOPS} in flight >= ${TARGETS.spread}x peer throughput`, spread.ratio >= TARGETS.spread, thr(spread));
  report.target(`sequential read p50 <= ${TARGETS.read}x peer`, read.ratio <= TARGETS.read, lat(read));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** µs as ` 1.61 ms`. */
function ms(us: number): string {
  return `${(us / 1000).toFixed(2).padStart(6)} ms`;
}

function rate(perSecond: number): string {
  return `${perSecond.toFixed(0).padStart(6)}/s`;
}
