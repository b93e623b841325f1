/**
 * DSM faults (issue 3): what a page fault costs next to the raw socket.io round trip that
 * carries the same 4 KiB between the same two processes.
 *
 * On a cluster of 1 name, 1 data (ds1, the home) and 4 compute servers, every figure is timed
 * inside the compute server (`compute.probe`, see ComputeProbe), each sample next to a sample
 * of its baseline — `echo`, 4 KiB from that compute server to ds1 and back — alternating, so
 * machine noise hits both:
 *   1. read fault, page at home: cs1 dropped its copy, no server owns the page; the home
 *      sends its 4 KiB.
 *   2. read fault, owned elsewhere: cs2 took the page for writing; the home recalls it
 *      (downgrade: cs2's bytes come home) and sends it to cs1.
 *   3. write fault with 1 and with 3 readers to invalidate: cs2 (cs2..cs4) read the page,
 *      cs1 (no current copy) faults for write: the home invalidates the readers in parallel
 *      and sends the bytes. For scale, the same with no other copy (nothing to invalidate).
 *   4. ping-pong: cs1 and cs2 fault the page for writing in turn; each turn recalls it from
 *      the other (its bytes travel owner -> home -> faulting server).
 * Pages are given 4 KiB of real bytes first (`fill`), so every grant carries them; the
 * benchmark checks that each measured fault fetched one page of bytes.
 *
 * A DSM client keeps a freshly installed copy for MIN_HOLD_MS (0.25 ms) before a recall may take
 * it (ra-kernel/dsm-client.ts). Figures 2 and 3 let the setup's copies age past that
 * (SETTLE_MS) so they measure the protocol; ping-pong is given both ways: back to back (the
 * target: contention is what it is about) and with the copies settled.
 *
 * Targets (p50 over p50 of the baseline sampled in the same loop): read fault at home
 * <= 1.5x, write fault with 3 readers <= 2.5x, ping-pong turn <= 3x.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { PageNo, ServerId, SysName } from "../../ra-kernel/ids.js";
import { homeOf } from "../../ra-kernel/ids.js";
import { readToken } from "../../shell/cluster-file.js";
import { withBenchCluster, type BenchCluster } from "./bench-cluster.js";
import { FREE_HEAP_PAGE, createBenchObject } from "./bench-object.js";
import type { BenchReport } from "./bench-report.js";
import { ComputeProbe } from "./compute-probe.js";
import { ServerMetrics, bucketDelta, histogramBound, type Bucket } from "./server-metrics.js";

/** Echoes from each compute server before anything is measured (JIT, connections, buffers). */
const ECHO_WARM_UP = 500;
const WARM_UP = 100;
const MEASURED = 400;
/**
 * Back-to-back ping-pong turns in a row before as many baseline samples (and back); every
 * other figure alternates one sample of each.
 */
const TURNS_PER_ROUND = 10;
const PAGE_BYTES = 4096;
/** Longer than the DSM client's MIN_HOLD_MS (0.25 ms), so a recall never waits on it. */
const SETTLE_MS = 2;
const LABEL = 46;
const TARGETS = { readAtHome: 1.5, writeThreeReaders: 2.5, pingPong: 3.0 };

/** Pages of the object's heap segment, one per figure (a figure's history never leaks into another's). */
const PAGE = {
  readAtHome: FREE_HEAP_PAGE, readOwned: FREE_HEAP_PAGE + 1, writeOneReader: FREE_HEAP_PAGE + 2,
  writeThreeReaders: FREE_HEAP_PAGE + 3, pingPong: FREE_HEAP_PAGE + 4, pingPongSettled: FREE_HEAP_PAGE + 5,
  writeNoReader: FREE_HEAP_PAGE + 6,
} as const;

export interface Quantiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
}

/** One figure and the baseline sampled alongside it. */
interface Figure {
  label: string;
  measured: Quantiles;
  baseline: Quantiles;
  baselineName: string;
  /** The measuring servers' own fault-latency histogram over the run, p50 bucket bound (µs). */
  histogramP50: number;
}

/** One measured operation: untimed setup, then the operation; returns µs inside the server. */
interface Sampled {
  server: (i: number) => string;
  setup?: (i: number) => Promise<void>;
  measure: (i: number) => Promise<number>;
  /** Samples in a row before as many of the baseline. @default 1 */
  perRound?: number;
}

export async function dsmFaults(report: BenchReport): Promise<void> {
  await withBenchCluster({ compute: 4 }, async (bench) => {
    const object = await createBenchObject(bench, "DsmFaults");
    const probe = await ComputeProbe.open(bench);
    try {
      await new FaultFigures(bench, probe, object.segments.heap, report).run();
    } finally {
      await probe.close();
    }
  });
}

class FaultFigures {
  private readonly home: ServerId;
  private readonly token: string;
  private readonly echoes = new Map<string, number[]>();

  constructor(
    private readonly bench: BenchCluster,
    private readonly probe: ComputeProbe,
    private readonly heap: SysName,
    private readonly report: BenchReport,
  ) {
    this.home = homeOf(heap);
    this.token = readToken(bench.dir);
  }

  async run(): Promise<void> {
    if (this.probe.servers.length < 4) throw new Error(`need 4 compute servers, have ${this.probe.servers.join(", ")}`);
    await Promise.all(Object.values(PAGE).map((page, n) => this.probe.fill("cs2", this.heap, page, 0x11 * (n + 1))));
    for (const server of this.probe.servers) for (let i = 0; i < ECHO_WARM_UP; i++) await this.probe.echo(server, this.home, PAGE_BYTES);
    const readAtHome = await this.readAtHome();
    const readOwned = await this.readOwned();
    const writeNone = await this.writeWithReaders("write fault, no other copy", PAGE.writeNoReader, []);
    const writeOne = await this.writeWithReaders("write fault, 1 reader to invalidate", PAGE.writeOneReader, ["cs2"]);
    const writeThree = await this.writeWithReaders("write fault, 3 readers to invalidate", PAGE.writeThreeReaders, ["cs2", "cs3", "cs4"]);
    const pingPong = await this.pingPong("ping-pong turn cs1<->cs2, back to back", PAGE.pingPong, false);
    const pingPongSettled = await this.pingPong(`ping-pong turn, ${SETTLE_MS} ms between turns`, PAGE.pingPongSettled, true);
    const small = await this.smallEcho();
    for (const [server, samples] of this.echoes) this.line(`echo ${PAGE_BYTES / 1024} KiB ${server}<->${this.home} (baseline, all loops)`, quantiles(samples));
    this.line(`echo 0 B cs1<->${this.home} (a recall's size)`, small.measured, `${(small.measured.p50 / small.baseline.p50).toFixed(2)}x echo 4 KiB p50 ${small.baseline.p50.toFixed(1)} µs (same loop)`);
    for (const f of [readAtHome, readOwned, writeNone, writeOne, writeThree, pingPong, pingPongSettled]) this.printFigure(f);
    this.target(`read fault (page at home) p50 <= ${TARGETS.readAtHome}x echo 4 KiB p50`, readAtHome, TARGETS.readAtHome);
    this.target(`write fault, 3 readers p50 <= ${TARGETS.writeThreeReaders}x echo 4 KiB p50`, writeThree, TARGETS.writeThreeReaders);
    this.target(`ping-pong turn p50 <= ${TARGETS.pingPong}x echo 4 KiB p50`, pingPong, TARGETS.pingPong);
  }

  /** cs1 drops its copy, then faults it back from the home (no server owns it). */
  private async readAtHome(): Promise<Figure> {
    const page = PAGE.readAtHome;
    await this.probe.fault("cs1", this.heap, page, "read"); // downgrades cs2 (filled it): nobody owns it now
    return this.figure("read fault, page at home", {
      server: () => "cs1",
      setup: () => this.probe.drop("cs1", this.heap, page),
      measure: () => this.probe.fault("cs1", this.heap, page, "read"),
    });
  }

  /** cs2 takes the page for writing (invalidating cs1's copy); cs1 read-faults it. */
  private async readOwned(): Promise<Figure> {
    const page = PAGE.readOwned;
    return this.figure("read fault, owned elsewhere (recall+downgrade)", {
      server: () => "cs1",
      setup: async () => {
        await this.probe.fault("cs2", this.heap, page, "write");
        await sleep(SETTLE_MS);
      },
      measure: () => this.probe.fault("cs1", this.heap, page, "read"),
    });
  }

  /**
   * The readers read the page (taking it from cs1, which then drops its copy); cs1 write-faults
   * it. With no readers, cs1 dropped the page it owned: the home has no one to recall from.
   */
  private async writeWithReaders(label: string, page: PageNo, readers: string[]): Promise<Figure> {
    return this.figure(label, {
      server: () => "cs1",
      setup: async () => {
        await Promise.all(readers.map((r) => this.probe.fault(r, this.heap, page, "read")));
        // With readers, cs1 is one of them now (downgraded): forgetting its copy is enough. With
        // none it still owns the page, and an owner that forgets it makes the home revert it
        // (it lost its copy): give it home as an eviction does.
        if (readers.length > 0) await this.probe.drop("cs1", this.heap, page);
        else await this.probe.evict("cs1", this.heap, page);
        await sleep(SETTLE_MS);
      },
      measure: () => this.probe.fault("cs1", this.heap, page, "write"),
    });
  }

  /** cs1 and cs2 write-fault the page in turn (cs1 first: cs2 owns the page after its fill). */
  private async pingPong(label: string, page: PageNo, settled: boolean): Promise<Figure> {
    const server = (i: number) => (i % 2 === 0 ? "cs1" : "cs2");
    return this.figure(label, {
      server,
      setup: settled ? () => sleep(SETTLE_MS) : undefined,
      measure: (i) => this.probe.fault(server(i), this.heap, page, "write"),
      perRound: settled ? 1 : TURNS_PER_ROUND,
    });
  }

  /** For scale: a round trip without the 4 KiB, next to the baseline (not a figure of the DSM). */
  private async smallEcho(): Promise<{ measured: Quantiles; baseline: Quantiles }> {
    const measured: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < MEASURED; i++) {
      measured.push(await this.probe.echo("cs1", this.home, 0));
      baseline.push(await this.probe.echo("cs1", this.home, PAGE_BYTES));
    }
    return { measured: quantiles(measured), baseline: quantiles(baseline) };
  }

  /**
   * Warm-up, then MEASURED samples of the operation and as many of the echo baseline from
   * the same server, in alternating rounds. Checks every measured fault fetched a page.
   */
  private async figure(label: string, op: Sampled): Promise<Figure> {
    const servers = [...new Set([0, 1].map(op.server))];
    for (let i = 0; i < WARM_UP; i++) await this.sampleOnce(op, i);
    const before = await this.snapshot(servers);
    const measured: number[] = [];
    const baseline: number[] = [];
    const perRound = op.perRound ?? 1;
    for (let i = 0; i < MEASURED; i += perRound) {
      for (let j = i; j < i + perRound; j++) measured.push(await this.sampleOnce(op, j));
      for (let j = i; j < i + perRound; j++) baseline.push(await this.echo(op.server(j)));
    }
    const after = await this.snapshot(servers);
    checkFetched(label, MEASURED, before, after);
    const histogram = servers.map((s) => bucketDelta(after.get(s)!.histogram, before.get(s)!.histogram));
    const names = servers.map((s) => `${s}<->${this.home}`).join(", ");
    return { label, measured: quantiles(measured), baseline: quantiles(baseline), baselineName: `echo 4 KiB ${names}`, histogramP50: histogramBound(sumBuckets(histogram), 0.5) };
  }

  private async sampleOnce(op: Sampled, i: number): Promise<number> {
    await op.setup?.(i);
    return op.measure(i);
  }

  private async echo(server: string): Promise<number> {
    const us = await this.probe.echo(server, this.home, PAGE_BYTES);
    if (!this.echoes.has(server)) this.echoes.set(server, []);
    this.echoes.get(server)!.push(us);
    return us;
  }

  /** Per server: DSM counters (compute.status) and its fault-latency histogram (/metrics). */
  private async snapshot(servers: string[]): Promise<Map<string, ServerSnapshot>> {
    const out = new Map<string, ServerSnapshot>();
    for (const s of servers) {
      const address = this.bench.info.servers.find((x) => x.id === s)!.address;
      const [status, metrics] = await Promise.all([this.probe.status(s), ServerMetrics.fetch(address, this.token)]);
      out.set(s, { fetches: status.counters.fetches ?? 0, bytesIn: status.counters.bytesIn ?? 0, histogram: metrics.histogram("dsm_fault_latency_us") });
    }
    return out;
  }

  private printFigure(f: Figure): void {
    const ratio = f.measured.p50 / f.baseline.p50;
    this.line(f.label, f.measured, `${ratio.toFixed(2)}x ${f.baselineName} p50 ${f.baseline.p50.toFixed(1)} µs (same loop)`);
    if (!Number.isNaN(f.histogramP50)) this.report.line(`${"".padEnd(LABEL)}   /metrics dsm_fault_latency_us of the same faults: p50 <= ${f.histogramP50} µs`);
  }

  private target(name: string, f: Figure, limit: number): void {
    const ratio = f.measured.p50 / f.baseline.p50;
    this.report.target(name, ratio <= limit, `${ratio.toFixed(2)}x (${f.measured.p50.toFixed(1)} / ${f.baseline.p50.toFixed(1)} µs)`);
  }

  private line(label: string, q: Quantiles, extra = ""): void {
    const us = (v: number) => `${v.toFixed(1).padStart(7)} µs`;
    this.report.line(`${label.padEnd(LABEL)} p50 ${us(q.p50)}   p90 ${us(q.p90)}   p99 ${us(q.p99)}${extra ? `   ${extra}` : ""}`);
  }
}

interface ServerSnapshot {
  fetches: number;
  bytesIn: number;
  histogram: Bucket[];
}

/** A benchmark of the wrong thing measures nothing: each measured fault must have fetched a page of bytes. */
function checkFetched(label: string, faults: number, before: Map<string, ServerSnapshot>, after: Map<string, ServerSnapshot>): void {
  let fetches = 0;
  let bytes = 0;
  for (const [s, a] of after) {
    fetches += a.fetches - before.get(s)!.fetches;
    bytes += a.bytesIn - before.get(s)!.bytesIn;
  }
  if (fetches < faults || bytes < faults * PAGE_BYTES) {
    throw new Error(`${label}: ${faults} faults made ${fetches} fetches bringing ${bytes} bytes (expected one page of ${PAGE_BYTES} bytes each)`);
  }
}

function sumBuckets(histograms: Bucket[][]): Bucket[] {
  return histograms[0].map((b, i) => ({ le: b.le, count: histograms.reduce((n, h) => n + (h[i]?.count ?? 0), 0) }));
}

/** Nearest-rank quantiles of samples in µs. */
export function quantiles(samples: number[]): Quantiles {
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}
