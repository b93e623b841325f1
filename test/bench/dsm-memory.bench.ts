/**
 * DSM memory (issue 3): what caching 10,000 pages costs a compute server in resident memory,
 * against the 40.96 MB of page bytes themselves.
 *
 * On a cluster of 1 name, 1 data (ds1) and 2 compute servers: cs1 fills PAGES heap pages with
 * real bytes (committed at ds1, FILL_CONCURRENCY at a time); cs2 read-faults each of them once,
 * one after the other — every grant carries 4 KiB (cs1's copy is downgraded first). cs2's
 * process_resident_bytes (GET /metrics) is read, each time once it has settled:
 *   cold    after one fault (its connection to ds1 open, the segment mapped);
 *   warm    after PAGES faults of one page (drop, fault): the traffic without the caching —
 *           a busy Node process keeps a larger young generation and allocator arenas, a
 *           one-time cost that is not the pages';
 *   cached  after the PAGES distinct faults.
 *
 * Target: resident growth warm -> cached <= 1.5x PAGES * 4 KiB (growth from cold printed too).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { SysName } from "../../ra-kernel/ids.js";
import { homeOf } from "../../ra-kernel/ids.js";
import { readToken } from "../../shell/cluster-file.js";
import { withBenchCluster, type BenchCluster } from "./bench-cluster.js";
import { FREE_HEAP_PAGE, createBenchObject } from "./bench-object.js";
import type { BenchReport } from "./bench-report.js";
import { ComputeProbe } from "./compute-probe.js";
import { ServerMetrics } from "./server-metrics.js";

const PAGES = 10_000;
const PAGE_BYTES = 4096;
/** Past the pages the fault benchmark and the warm-up use. */
const FIRST_PAGE = 20_000;
const FILL_CONCURRENCY = 32;
/** The page cs2 faults over and over to warm up (filled too). */
const WARM_UP_PAGE = FIRST_PAGE - 1;
const RATIO_TARGET = 1.5;
/** Resident memory has settled when two readings SETTLE_MS apart differ by less than SETTLE_FRACTION. */
const SETTLE_MS = 1_000;
const SETTLE_FRACTION = 0.01;
const SETTLE_MAX_MS = 10_000;
/** Quiet time before an "after" reading: V8's memory reducer shrinks the heap ~4-5 s after a burst. */
const IDLE_MS = 6_000;
const LABEL = 46;

interface Resident {
  rss: number;
  heapUsed: number;
}

export async function dsmMemory(report: BenchReport): Promise<void> {
  await withBenchCluster({ compute: 2 }, async (bench) => {
    // Made on cs1: cs2 only faults its pages (probes), so it never deactivates the object
    // under the measurement (an idle object's pages leave the cache).
    const object = await createBenchObject(bench, "DsmMemory", "cs1");
    const probe = await ComputeProbe.open(bench);
    try {
      await measure(bench, probe, object.segments.heap, report);
    } finally {
      await probe.close();
    }
  });
}

async function measure(bench: BenchCluster, probe: ComputeProbe, heap: SysName, report: BenchReport): Promise<void> {
  const pages = Array.from({ length: PAGES }, (_, i) => FIRST_PAGE + i);
  const filled = performance.now();
  await inParallel([WARM_UP_PAGE, ...pages], FILL_CONCURRENCY, (page) => probe.fill("cs1", heap, page, page & 0xff || 1));
  report.line(`${`fill ${PAGES} pages on cs1 (committed at ${homeOf(heap)})`.padEnd(LABEL)} ${seconds(performance.now() - filled)} (setup, ${FILL_CONCURRENCY} at a time)`);
  const cs2 = new ServerMemory(bench, "cs2");

  await probe.fault("cs2", heap, WARM_UP_PAGE, "read");
  const cold = await cs2.settled(0);
  const warming = performance.now();
  for (let i = 0; i < PAGES; i++) {
    await probe.drop("cs2", heap, WARM_UP_PAGE);
    await probe.fault("cs2", heap, WARM_UP_PAGE, "read");
  }
  const warmMs = performance.now() - warming;
  const before = await cs2.settled(IDLE_MS);
  const cachedBefore = (await probe.status("cs2")).cachedPages;
  const faulted = performance.now();
  for (const page of pages) await probe.fault("cs2", heap, page, "read");
  const faultMs = performance.now() - faulted;
  const busy = await cs2.now();
  const after = await cs2.settled(IDLE_MS);
  const cached = (await probe.status("cs2")).cachedPages - cachedBefore;
  if (cached !== PAGES) throw new Error(`cs2 caches ${cached} more pages after faulting ${PAGES}`);

  const pageBytes = PAGES * PAGE_BYTES;
  const ratio = (after.rss - before.rss) / pageBytes;
  const perFault = (ms: number) => `${((ms * 1000) / PAGES).toFixed(0)} µs per fault`;
  report.line(`${`warm-up: ${PAGES} faults on cs2, one page`.padEnd(LABEL)} ${seconds(warmMs)} (${perFault(warmMs)}; drop + read fault each)`);
  report.line(`${`read-fault ${PAGES} distinct pages on cs2`.padEnd(LABEL)} ${seconds(faultMs)} (${perFault(faultMs)}, one at a time; 4 KiB of real bytes each)`);
  report.line(`${"cs2 resident memory".padEnd(LABEL)} cold ${mb(cold.rss)}   warm ${mb(before.rss)}   10,000 pages cached ${mb(busy.rss)} at once, ${mb(after.rss)} settled`);
  report.line(`${"cs2 JS heap used".padEnd(LABEL)} cold ${mb(cold.heapUsed)}   warm ${mb(before.heapUsed)}   10,000 pages cached ${mb(after.heapUsed)} settled`);
  report.line(`${"growth from traffic alone (cold -> warm)".padEnd(LABEL)} ${mb(before.rss - cold.rss)}   (runtime: young generation, allocator; no page cached)`);
  report.line(`${`growth warm -> cached / (${PAGES} pages * 4 KiB)`.padEnd(LABEL)} ${mb(after.rss - before.rss)} / ${mb(pageBytes).trim()} = ${ratio.toFixed(2)}x (target <= ${RATIO_TARGET}x)   from cold: ${((after.rss - cold.rss) / pageBytes).toFixed(2)}x`);
  report.target(`cs2 caching ${PAGES} pages: RSS growth <= ${RATIO_TARGET}x their bytes`, ratio <= RATIO_TARGET, `${ratio.toFixed(2)}x (${mb(after.rss - before.rss).trim()} for ${mb(pageBytes).trim()})`);
}

/** One server's resident memory and JS heap, from its GET /metrics. */
class ServerMemory {
  private readonly address: string;
  private readonly token: string;

  constructor(bench: BenchCluster, id: string) {
    this.address = bench.info.servers.find((s) => s.id === id)!.address;
    this.token = readToken(bench.dir);
  }

  async now(): Promise<Resident> {
    const m = await ServerMetrics.fetch(this.address, this.token);
    const rss = m.value("process_resident_bytes");
    const heapUsed = m.value("process_heap_used_bytes");
    if (rss === undefined || heapUsed === undefined) throw new Error(`no process_resident_bytes / process_heap_used_bytes in the /metrics of ${this.address}`);
    return { rss, heapUsed };
  }

  /**
   * After `idleMs` without requests (V8 shrinks its heap a few seconds after a burst), the
   * first reading that agrees with the one SETTLE_MS before (or the last by SETTLE_MAX_MS).
   */
  async settled(idleMs: number): Promise<Resident> {
    await sleep(idleMs);
    const started = Date.now();
    let last = await this.now();
    for (;;) {
      await sleep(SETTLE_MS);
      const now = await this.now();
      if (Math.abs(now.rss - last.rss) < SETTLE_FRACTION * last.rss || Date.now() - started > SETTLE_MAX_MS) return now;
      last = now;
    }
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1).padStart(6)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs `work` on every item, at most `concurrency` at a time. */
async function inParallel<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
}
