/**
 * Scale (issue 10): many small objects on one data server. On a default cluster (1 name, 1
 * data, 2 compute servers) it creates SCALE_OBJECTS Rectangles (default 100,000), all bound in
 * one directory, then invokes each once (`size`), IN_FLIGHT at a time. It prints:
 *   - creations per second (each: descriptor, constructor, name bound) and first invocations
 *     per second;
 *   - disk bytes per object of the data server's store after a checkpoint (target <= 1 KiB),
 *     with the bytes of each table, and the name server's bytes per binding;
 *   - name lookup p50 and warm invocation p50 with BASELINE objects and with all of them,
 *     and their ratios (target <= 1.2x each);
 *   - the resident memory of each server (/proc/<pid>/status; pids from cluster.json), with
 *     the targets: a compute server within its page cache bound plus what it took at BASELINE
 *     objects (the fixed overhead); a data server's directory entries no more than the pages
 *     the compute servers cache (it forgets the rest);
 *   - the extrapolation to a million objects.
 * A server that dies during the run (e.g. a compute server out of memory) is reported as such,
 * with the tail of its log, and the run stops there instead of hanging.
 *
 *   SCALE_OBJECTS=5000 npm run bench      (any number >= BASELINE; smaller runs for development)
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { SysName } from "../../ra-kernel/ids.js";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import type { ClusterServer } from "../../shell/cluster-file.js";
import { sqliteFootprint } from "../support/sqlite-footprint.js";
import { REPO_ROOT, withBenchCluster, type BenchCluster } from "./bench-cluster.js";
import type { BenchReport } from "./bench-report.js";
import { formatLatency, summarize, warmUp, type LatencySummary } from "./latency.js";
import { formatMb, residentKb } from "./resident-memory.js";
import { ServerMetrics } from "./server-metrics.js";
import { DEFAULT_CACHE_MB } from "../../servers/compute/compute-server.js";

const OBJECTS = Math.max(Number(process.env.SCALE_OBJECTS ?? 100_000), 1_000);
/** The small scale the large one is compared with. */
const BASELINE = 1_000;
const IN_FLIGHT = 32;
/** Lookups and invocations timed at each scale. */
const SAMPLES = 2_000;
const ROUNDS = 10;
const ROUND_GAP_MS = 200;
/** Untimed lookups before the timed ones. */
const WARM_UP = 200;
/** Pause before measuring: the servers finish what the fill left them (commits, GC). */
const SETTLE_MS = 3_000;
/** Objects invoked over and over for the warm invocation figure (their pages cached). */
const WARM_OBJECTS = 50;
/** The compute server that runs the warm invocations. */
const WARM_AT = "cs1";
const DIRECTORY = "/scale";
const BYTES_TARGET = 1024;
const RATIO_TARGET = 1.2;
/** How often the watch looks for servers that died (ms). */
const WATCH_MS = 500;
const LABEL = 46;

/** Thrown by the fill when a server died: the run stops and says which. */
class ServerDied extends Error {
  constructor(readonly server: ClusterServer, readonly progress: string, readonly created: number) {
    super(`${server.id} (${server.role} server, pid ${server.pid}) died after ${progress}`);
  }
}

export async function scale(report: BenchReport): Promise<void> {
  await withBenchCluster({ compute: 2 }, async (bench) => {
    const cluster = await connect({ dir: bench.dir, workstation: `bench-scale-${process.pid}` });
    const watch = new ServerWatch(bench.info.servers);
    try {
      await cluster.load(path.join(REPO_ROOT, "objects/examples/rectangle.ts"));
      await run(bench, cluster, watch, report);
    } catch (err) {
      if (!(err instanceof ServerDied)) throw err;
      reportDeath(err, report);
      if (err.server.role !== "data" && err.created > 0) reportDisk(bench, report, err.created);
    } finally {
      watch.stop();
      await cluster.close();
    }
  });
}

async function run(bench: BenchCluster, cluster: Cluster, watch: ServerWatch, report: BenchReport): Promise<void> {
  const sysnames: SysName[] = [];
  const creating = new Stream(watch, async (i) => (sysnames[i] = (await cluster.createObject("Rectangle", nameOf(i))).sysname));
  const invoking = new Stream(watch, (i) => cluster.invoke(sysnames[i], "size", [i, 2]));
  watch.progress = () => `${creating.done} objects created, ${invoking.done} invoked`;
  watch.created = () => creating.done;
  await creating.upTo(BASELINE);
  await invoking.upTo(BASELINE);
  const small = await measure(cluster, BASELINE);
  const smallRss = residentOf(bench.info.servers);
  // Half, then all: the growth between the two is what a million would add.
  const half = Math.max(BASELINE, Math.floor(OBJECTS / 2));
  await creating.upTo(half, (n) => report.line(`   ... ${n} objects created (${creating.rate().toFixed(0)}/s)`));
  await invoking.upTo(half, (n) => report.line(`   ... ${n} objects invoked once (${invoking.rate().toFixed(0)}/s)`));
  const halfRss = residentOf(bench.info.servers);
  await creating.upTo(OBJECTS, (n) => report.line(`   ... ${n} objects created (${creating.rate().toFixed(0)}/s)`));
  await invoking.upTo(OBJECTS, (n) => report.line(`   ... ${n} objects invoked once (${invoking.rate().toFixed(0)}/s)`));
  const large = await measure(cluster, OBJECTS);
  const largeRss = residentOf(bench.info.servers);

  report.line(`${`create (constructor + bind), ${IN_FLIGHT} in flight`.padEnd(LABEL)} ${OBJECTS} objects in ${(creating.ms / 1000).toFixed(1)} s: ${creating.rate().toFixed(0)} creations/s`);
  report.line(`${`first invocation of each (size)`.padEnd(LABEL)} ${OBJECTS} in ${(invoking.ms / 1000).toFixed(1)} s: ${invoking.rate().toFixed(0)} invocations/s`);
  const perObject = reportDisk(bench, report, OBJECTS);
  reportRatio(report, "name lookup", small.lookup, large.lookup);
  reportRatio(report, "warm invocation (area)", small.invoke, large.invoke);
  for (const s of bench.info.servers) {
    report.line(`${`${s.id} resident memory (${s.role})`.padEnd(LABEL)} at ${BASELINE}: ${formatMb(smallRss.get(s.id) ?? 0)}   at ${half}: ${formatMb(halfRss.get(s.id) ?? 0)}   at ${OBJECTS}: ${formatMb(largeRss.get(s.id) ?? 0)}`);
  }
  reportComputeBound(report, bench.info.servers, smallRss, largeRss);
  await reportDirectory(report, bench);
  reportMillion(report, perObject, creating.rate(), bench.info.servers, { count: half, rss: halfRss }, largeRss);
  report.target(`${OBJECTS} objects: no server died`, true, "none");
}

/** Runs one operation per object index, in order, IN_FLIGHT at a time; counts what ran and how long. */
class Stream {
  /** Indices [0, done) have been handed out (and, between calls of upTo, have run). */
  done = 0;
  /** Milliseconds spent in earlier calls of upTo. */
  private msBefore = 0;
  /** When the running call of upTo started (null: none runs). */
  private started: number | null = null;

  constructor(private readonly watch: ServerWatch, private readonly op: (i: number) => Promise<unknown>) {}

  /** Milliseconds spent running so far. */
  get ms(): number {
    return this.msBefore + (this.started === null ? 0 : performance.now() - this.started);
  }

  /** Operations per second so far. */
  rate(): number {
    return this.done / (this.ms / 1000);
  }

  async upTo(count: number, progress?: (n: number) => void): Promise<void> {
    const step = Math.max(Math.floor(count / 10), 1);
    this.started = performance.now();
    const worker = async () => {
      while (this.done < count) {
        const i = this.done++;
        await this.watch.guard(() => this.op(i));
        if (progress && (i + 1) % step === 0) progress(i + 1);
      }
    };
    try {
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    } finally {
      this.msBefore = this.ms;
      this.started = null;
    }
  }
}

/** Latencies timed in ROUNDS rounds: all samples, and the lowest p50 of a round. */
interface Timed {
  all: LatencySummary;
  bestP50: number;
}

interface Scale {
  lookup: Timed;
  invoke: Timed;
}

/**
 * Once the servers are quiet again after the fill (SETTLE_MS), lookups of random names among
 * `count` (after WARM_UP untimed ones), then invocations of WARM_OBJECTS random objects,
 * each invoked once before, all at WARM_AT: their pages stay cached there (placement is not
 * what this measures).
 */
async function measure(cluster: Cluster, count: number): Promise<Scale> {
  await sleep(SETTLE_MS);
  const names = Array.from({ length: SAMPLES }, () => nameOf(Math.floor(Math.random() * count)));
  await warmUp(WARM_UP, (i) => cluster.lookup(names[i % SAMPLES]));
  const lookup = await timeRounds((i) => cluster.lookup(names[i]));
  const warm: SysName[] = [];
  for (let i = 0; i < WARM_OBJECTS; i++) warm.push(await cluster.resolve(names[i]));
  for (const s of warm) await cluster.invoke(s, "area", [], { at: WARM_AT });
  const invoke = await timeRounds((i) => cluster.invoke(warm[i % WARM_OBJECTS], "area", [], { at: WARM_AT }));
  return { lookup, invoke };
}

/**
 * SAMPLES operations in ROUNDS rounds, ROUND_GAP_MS apart. The two scales are timed minutes
 * apart on a machine others share: the best round's p50 is the figure least disturbed by
 * load that is not ours, so the ratios compare those (the p50 of all samples is printed too).
 */
async function timeRounds(op: (i: number) => Promise<unknown>): Promise<Timed> {
  const perRound = SAMPLES / ROUNDS, samples = new Float64Array(SAMPLES);
  let bestP50 = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = r * perRound; i < (r + 1) * perRound; i++) {
      const start = process.hrtime.bigint();
      await op(i);
      samples[i] = Number(process.hrtime.bigint() - start) / 1_000;
    }
    bestP50 = Math.min(bestP50, summarize(samples.subarray(r * perRound, (r + 1) * perRound)).p50);
    await sleep(ROUND_GAP_MS);
  }
  return { all: summarize(samples), bestP50 };
}

function nameOf(i: number): string {
  return `${DIRECTORY}/r${i}`;
}

/** Disk of the data and name servers' stores (after a checkpoint) for `objects`; returns bytes per object. */
function reportDisk(bench: BenchCluster, report: BenchReport, objects: number): number {
  const data = sqliteFootprint(path.join(serverOf(bench, "data").dir, "segments.sqlite"));
  const names = sqliteFootprint(path.join(serverOf(bench, "name").dir, "names.sqlite"));
  const perObject = data.bytes / objects;
  const tables = Object.entries(data.tables).filter(([, b]) => b >= objects).map(([t, b]) => `${t} ${(b / objects).toFixed(0)}`).join(", ");
  report.line(`${`data server disk per object, ${objects} (checkpointed)`.padEnd(LABEL)} ${perObject.toFixed(0)} B   (${(data.bytes / 1e6).toFixed(1)} MB; WAL now ${(data.walBytes / 1e6).toFixed(1)} MB)`);
  if (tables) report.line(`${"  by table, bytes per object".padEnd(LABEL)} ${tables}`);
  report.line(`${"name server disk per binding (checkpointed)".padEnd(LABEL)} ${(names.bytes / objects).toFixed(0)} B   (${(names.bytes / 1e6).toFixed(1)} MB)`);
  report.target(`data server disk per Rectangle <= ${BYTES_TARGET} B`, perObject <= BYTES_TARGET, `${perObject.toFixed(0)} B`);
  return perObject;
}

function reportRatio(report: BenchReport, what: string, small: Timed, large: Timed): void {
  const ratio = large.bestP50 / small.bestP50;
  report.line(`${formatLatency(`${what} at ${BASELINE}`, small.all)}   best round p50 ${small.bestP50.toFixed(1)} µs`);
  report.line(`${formatLatency(`${what} at ${OBJECTS}`, large.all)}   best round p50 ${large.bestP50.toFixed(1)} µs`);
  report.line(`${`${what} p50 at ${OBJECTS} / at ${BASELINE}`.padEnd(LABEL)} ${ratio.toFixed(2)}x best rounds (target <= ${RATIO_TARGET}x); all samples ${(large.all.p50 / small.all.p50).toFixed(2)}x`);
  report.target(`${what} p50 at ${OBJECTS} <= ${RATIO_TARGET}x at ${BASELINE}`, ratio <= RATIO_TARGET, `${ratio.toFixed(2)}x`);
}

/** Disk is linear in objects; memory growth is extrapolated linearly from BASELINE -> OBJECTS. */
/** Each compute server's resident memory at OBJECTS within its cache bound plus its memory at BASELINE. */
function reportComputeBound(report: BenchReport, servers: ClusterServer[], small: Map<string, number>, large: Map<string, number>): void {
  for (const s of servers.filter((x) => x.role === "compute")) {
    const bound = DEFAULT_CACHE_MB * 1024 + (small.get(s.id) ?? 0);
    const rss = large.get(s.id) ?? 0;
    report.target(`${s.id} resident at ${OBJECTS} <= cache bound + its memory at ${BASELINE}`, rss <= bound, `${formatMb(rss).trim()} of ${formatMb(bound).trim()}`);
  }
}

/** The data server's directory entries against the pages the compute servers cache. */
async function reportDirectory(report: BenchReport, bench: BenchCluster): Promise<void> {
  const token = readFileSync(path.join(bench.dir, "token"), "utf8").trim();
  const of = async (role: string) => Promise.all(bench.info.servers.filter((s) => s.role === role).map((s) => ServerMetrics.fetch(s.address, token)));
  const entries = (await of("data")).reduce((n, m) => n + (m.value("directory_pages") ?? 0), 0);
  const cached = (await of("compute")).reduce((n, m) => n + (m.value("pages_cached") ?? 0), 0);
  report.target(`data server directory entries <= pages cached by compute servers`, entries <= cached, `${entries} entries, ${cached} pages cached`);
}

/** Disk and creation time at a million, and memory grown on from `mid` to OBJECTS at the same rate per object. */
function reportMillion(report: BenchReport, perObject: number, rate: number, servers: ClusterServer[], mid: { count: number; rss: Map<string, number> }, large: Map<string, number>): void {
  const growth = servers
    .map((s) => {
      const span = OBJECTS - mid.count;
      const perObjectKb = span > 0 ? Math.max(0, ((large.get(s.id) ?? 0) - (mid.rss.get(s.id) ?? 0)) / span) : 0;
      return `${s.id} ${formatMb((large.get(s.id) ?? 0) + perObjectKb * (1e6 - OBJECTS)).trim()}`;
    })
    .join(", ");
  report.line(`${"a million objects (extrapolated)".padEnd(LABEL)} data server disk ${((perObject * 1e6) / 1e9).toFixed(2)} GB; creation ${(1e6 / rate / 60).toFixed(0)} min at ${rate.toFixed(0)}/s`);
  report.line(`${`  resident memory, growing as from ${mid.count} on`.padEnd(LABEL)} ${growth}`);
}

function reportDeath(err: ServerDied, report: BenchReport): void {
  report.line(`!! ${err.message}`);
  for (const line of logTail(err.server.log)) report.line(`!!   ${line}`);
  report.target(`${OBJECTS} objects: no server died`, false, `${err.server.id} died after ${err.progress}`);
}

/** The error lines near the end of a server's log (a fatal error's first line), else its last lines. */
function logTail(file: string | undefined, lines = 4): string[] {
  if (!file) return [];
  try {
    const tail = readFileSync(file, "utf8").trimEnd().split("\n").slice(-60);
    const errors = tail.filter((l) => /FATAL|Error|error/.test(l) && !/^\s*\d+: 0x/.test(l));
    return (errors.length > 0 ? errors : tail).slice(-lines);
  } catch {
    return [`(no log at ${file})`];
  }
}

function serverOf(bench: BenchCluster, role: string): ClusterServer {
  const server = bench.info.servers.find((s) => s.role === role);
  if (!server) throw new Error(`the bench cluster has no ${role} server`);
  return server;
}

/** VmRSS (kB) of each server now; 0 for one that is gone. */
function residentOf(servers: ClusterServer[]): Map<string, number> {
  return new Map(servers.map((s) => [s.id, residentKb(s.pid) ?? 0]));
}

/**
 * Watches the servers' pids: `guard` runs an operation and, should a server be gone when it
 * fails (or before it starts), throws ServerDied instead of its error — also for operations
 * that were waiting on the dead server, which the poll ends at once rather than at their timeout.
 */
class ServerWatch {
  private dead: ServerDied | null = null;
  private readonly waiters = new Set<(err: ServerDied) => void>();
  private readonly timer: NodeJS.Timeout;
  /** How far the run got, for the report of a death. */
  progress: () => string = () => "the start";
  /** Objects created so far (the figures a death still reports cover them). */
  created: () => number = () => 0;

  constructor(private readonly servers: ClusterServer[]) {
    this.timer = setInterval(() => this.poll(), WATCH_MS);
    this.timer.unref();
  }

  async guard(op: () => Promise<unknown>): Promise<void> {
    if (this.poll()) throw this.dead;
    let quit!: (err: ServerDied) => void;
    const died = new Promise<never>((_, reject) => (quit = reject));
    died.catch(() => undefined);
    this.waiters.add(quit);
    try {
      await Promise.race([op(), died]);
    } catch (err) {
      throw this.poll() ? this.dead : err;
    } finally {
      this.waiters.delete(quit);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** True once some server's process is gone (then `dead` says which). */
  private poll(): boolean {
    if (this.dead) return true;
    const gone = this.servers.find((s) => residentKb(s.pid) === null);
    if (!gone) return false;
    this.dead = new ServerDied(gone, this.progress(), this.created());
    for (const quit of this.waiters) quit(this.dead);
    return true;
  }
}
