/**
 * Placement (issue 10): what placing every invocation buys, in three runs.
 *
 *   hot counter   one Counter (exclusive `increment`), 32 client loops, 4 compute servers:
 *                 default placement vs every call pinned to cs1, in alternating rounds;
 *                 throughput ratio (target >= 0.9x) and the recalls + invalidations the
 *                 compute servers received in each mode (ping-ponging pages show there)
 *   imbalance     cs1 shares core 0 with CPU hogs (taskset), cs2 has core 1; loops of
 *                 CPU-heavy `crunch` on CRUNCHERS objects: default placement vs uniformly
 *                 random placement (policy "random"), alternating rounds, at two loads:
 *                 CRUNCH_LOOPS (as many calls as the two servers have workers: where a call
 *                 goes decides how fast it runs; the targets: throughput >= 1.3x, lower p99)
 *                 and SATURATING_LOOPS (enough calls to keep both servers' workers busy
 *                 whatever the placement: throughput can only match, p99 shows the difference)
 *   failover      3 compute servers, unhinted invocations from 8 loops; cs2 is killed with
 *                 kill -9 mid-stream: invocations failed before and after the first one
 *                 that failed (target 0 after it), and how long cs2 stays in `servers`
 */
import { spawn, type ChildProcess } from "node:child_process";
import { pin, pinAll } from "./cpu-pinning.js";
import * as path from "node:path";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { Counter } from "../../objects/examples/counter.js";
import type { Cruncher } from "../fixtures/cruncher.js";
import { ComputeClient } from "../../servers/compute/protocol.js";
import { REPO_ROOT, withBenchCluster, type BenchCluster } from "./bench-cluster.js";
import type { BenchReport } from "./bench-report.js";
import { summarize } from "./latency.js";

const HOT_LOOPS = 32;
const HOT_ROUND_MS = 3000;
const HOT_ROUNDS = 3;
const CRUNCHERS = 24;
const CRUNCH_LOOPS = 4;
const SATURATING_LOOPS = 12;
const CRUNCH_ROUNDS = 8_000_000;
/** CPU hogs on core 0, each in a session of its own (the scheduler shares a core between sessions first). */
const HOGS = 1;
const IMBALANCE_ROUND_MS = 6000;
const IMBALANCE_ROUNDS = 3;
const FAILOVER_LOOPS = 8;
const FAILOVER_OBJECTS = 8;
const FAILOVER_BEFORE_MS = 1500;
const FAILOVER_AFTER_MS = 4000;
const SERVERS_WAIT_MS = 15_000;

export async function placement(report: BenchReport): Promise<void> {
  await hotCounter(report);
  await imbalance(report);
  await failover(report);
}

/** One of the three runs alone ("hot", "imbalance", "failover"), for trying them one at a time. */
export async function placementPart(name: string, report: BenchReport): Promise<void> {
  const parts: Record<string, (r: BenchReport) => Promise<void>> = { hot: hotCounter, imbalance, failover };
  if (!parts[name]) throw new Error(`no part ${name} (${Object.keys(parts).join(", ")})`);
  await parts[name](report);
}

interface LoopResult {
  ops: number;
  errors: number;
  latenciesUs: number[];
}

/** `loops` concurrent loops calling `op` until `ms` have passed. */
async function runLoops(loops: number, ms: number, op: (loop: number) => Promise<unknown>): Promise<LoopResult> {
  const end = performance.now() + ms;
  const out: LoopResult = { ops: 0, errors: 0, latenciesUs: [] };
  await Promise.all(Array.from({ length: loops }, async (_, loop) => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await op(loop);
        out.ops++;
        out.latenciesUs.push((performance.now() - t) * 1000);
      } catch {
        out.errors++;
      }
    }
  }));
  return out;
}

/** Recalls and invalidations received by every compute server so far. */
async function pageTraffic(cluster: Cluster, ids: string[]): Promise<number> {
  let n = 0;
  for (const id of ids) {
    const status = await new ComputeClient(await clientPeer(cluster, id)).call("compute.status", {});
    n += (status.counters.recallsReceived ?? 0) + (status.counters.invalidationsReceived ?? 0);
  }
  return n;
}

async function clientPeer(cluster: Cluster, id: string) {
  const info = (await cluster.serverList()).find((s) => s.id === id);
  if (!info) throw new Error(`no server ${id}`);
  return (cluster as unknown as { peers: { get(a: string): Promise<import("../../servers/transport/transport.js").Peer> } }).peers.get(info.address);
}

async function hotCounter(report: BenchReport): Promise<void> {
  await withBenchCluster({ compute: 4 }, async (bench) => {
    const cluster = await connect({ dir: bench.dir, workstation: "bench-hot" });
    try {
      await cluster.load(path.join(REPO_ROOT, "objects/examples/counter.ts"));
      const counter = await cluster.create<Counter>("Counter", `HotCounter-${process.pid}-${Date.now()}`);
      const computes = bench.info.servers.filter((s) => s.role === "compute").map((s) => s.id);
      const pinned = counter.at("cs1");
      await runLoops(HOT_LOOPS, 500, () => pinned.increment());
      const totals = { pinned: { ops: 0, traffic: 0 }, placed: { ops: 0, traffic: 0 } };
      for (let r = 0; r < HOT_ROUNDS; r++) {
        for (const mode of ["pinned", "placed"] as const) {
          const before = await pageTraffic(cluster, computes);
          const res = await runLoops(HOT_LOOPS, HOT_ROUND_MS, () => (mode === "pinned" ? pinned.increment() : counter.increment()));
          if (res.errors) throw new Error(`${res.errors} increments failed (${mode})`);
          totals[mode].ops += res.ops;
          totals[mode].traffic += (await pageTraffic(cluster, computes)) - before;
        }
      }
      const secs = (HOT_ROUNDS * HOT_ROUND_MS) / 1000;
      const [pinnedRate, placedRate] = [totals.pinned.ops / secs, totals.placed.ops / secs];
      const ratio = placedRate / pinnedRate;
      const where = cluster.placementLog(undefined, 1000).filter((d) => d.entry === "increment");
      const reasons = countBy(where.map((d) => `${d.reason}@${d.server}`));
      report.line(`hot exclusive counter, ${HOT_LOOPS} loops, 4 compute servers, all pinned on cs1: ${pinnedRate.toFixed(0)} increments/s, ${totals.pinned.traffic} recalls+invalidations`);
      report.line(`hot exclusive counter, ${HOT_LOOPS} loops, 4 compute servers, default placement:  ${placedRate.toFixed(0)} increments/s, ${totals.placed.traffic} recalls+invalidations   ratio ${ratio.toFixed(2)}x pinned`);
      report.line(`   last ${where.length} decisions: ${reasons}`);
      report.target("hot counter, default placement >= 0.9x pinned", ratio >= 0.9, `${ratio.toFixed(2)}x`);
    } finally {
      await cluster.close();
    }
  });
}

function countBy(items: string[]): string {
  const m = new Map<string, number>();
  for (const i of items) m.set(i, (m.get(i) ?? 0) + 1);
  return [...m].map(([k, v]) => `${k} ${v}`).join(", ");
}



async function imbalance(report: BenchReport): Promise<void> {
  await withBenchCluster({ compute: 2 }, async (bench) => {
    const pidOf = (id: string) => bench.info.servers.find((s) => s.id === id)!.pid;
    const hogs: ChildProcess[] = [];
    // Detached hogs outlive us unless killed: also on an exit through a signal handler.
    const killHogs = (): void => { for (const hog of hogs) hog.kill("SIGKILL"); };
    process.once("exit", killHogs);
    const adaptive = await connect({ dir: bench.dir, workstation: "bench-adaptive" });
    const random = await connect({ dir: bench.dir, workstation: "bench-random", placement: { policy: "random" } });
    try {
      await adaptive.load(path.join(REPO_ROOT, "test/fixtures/cruncher.ts"));
      const tag = `${process.pid}-${Date.now()}`;
      const objects: Remote<Cruncher>[] = [];
      for (let i = 0; i < CRUNCHERS; i++) objects.push(await adaptive.create<Cruncher>("Cruncher", `Cruncher-${tag}-${i}`));
      const viaRandom = objects.map((o) => random.ref<Cruncher>(o.sysname));
      for (let i = 0; i < HOGS; i++) {
        const hog = spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore", detached: true });
        hogs.push(hog);
        pin(hog.pid!, 0);
      }
      // Everything else on core 0 too (name and data servers, this client): core 1 is cs2's
      // alone, so cs1 is really the slow one (unpinned, they would slow cs2 as much).
      for (const id of ["cs1", "ns1", "ds1"]) pin(pidOf(id), 0);
      pin(process.pid, 0);
      pin(pidOf("cs2"), 1);
      const pick = () => Math.floor(Math.random() * CRUNCHERS);
      await runLoops(SATURATING_LOOPS, 1000, () => objects[pick()].crunch(CRUNCH_ROUNDS));
      for (const loops of [CRUNCH_LOOPS, SATURATING_LOOPS]) {
        const all = { adaptive: [] as number[], random: [] as number[] };
        const ops = { adaptive: 0, random: 0 };
        for (let r = 0; r < IMBALANCE_ROUNDS; r++) {
          for (const mode of ["random", "adaptive"] as const) {
            const set = mode === "adaptive" ? objects : viaRandom;
            const res = await runLoops(loops, IMBALANCE_ROUND_MS, () => set[pick()].crunch(CRUNCH_ROUNDS));
            if (res.errors) throw new Error(`${res.errors} crunches failed (${mode})`);
            ops[mode] += res.ops;
            all[mode].push(...res.latenciesUs);
          }
        }
        const secs = (IMBALANCE_ROUNDS * IMBALANCE_ROUND_MS) / 1000;
        const s = { adaptive: summarize(Float64Array.from(all.adaptive)), random: summarize(Float64Array.from(all.random)) };
        const ratio = ops.adaptive / ops.random;
        const spread = countBy(adaptive.placementLog(undefined, 1000).filter((d) => d.entry === "crunch").map((d) => `${d.reason}@${d.server}`));
        for (const mode of ["random", "adaptive"] as const) {
          report.line(`imbalance (cs1 + CPU hog + ns1, ds1, client on core 0; cs2 alone on core 1), ${loops} loops, ${mode} placement: ${(ops[mode] / secs).toFixed(1)} crunches/s, p50 ${(s[mode].p50 / 1000).toFixed(1)} ms, p99 ${(s[mode].p99 / 1000).toFixed(1)} ms`);
        }
        report.line(`   adaptive/random throughput ${ratio.toFixed(2)}x; last adaptive decisions: ${spread}`);
        const p99 = `${(s.adaptive.p99 / 1000).toFixed(0)} vs ${(s.random.p99 / 1000).toFixed(0)} ms`;
        if (loops === CRUNCH_LOOPS) {
          report.target(`imbalance, ${loops} loops: adaptive >= 1.3x uniform random`, ratio >= 1.3, `${ratio.toFixed(2)}x`);
          report.target(`imbalance, ${loops} loops: adaptive p99 < uniform random p99`, s.adaptive.p99 < s.random.p99, p99);
        } else {
          report.target(`imbalance, ${loops} loops (saturated): adaptive p99 < uniform random p99`, s.adaptive.p99 < s.random.p99, p99);
        }
      }
    } finally {
      killHogs();
      process.off("exit", killHogs);
      pinAll(process.pid);
      await Promise.all([adaptive.close(), random.close()]);
    }
  });
}

async function failover(report: BenchReport): Promise<void> {
  await withBenchCluster({ compute: 3 }, async (bench: BenchCluster) => {
    const cluster = await connect({ dir: bench.dir, workstation: "bench-failover" });
    try {
      await cluster.load(path.join(REPO_ROOT, "objects/examples/counter.ts"));
      const tag = `${process.pid}-${Date.now()}`;
      const counters: Remote<Counter>[] = [];
      for (let i = 0; i < FAILOVER_OBJECTS; i++) counters.push(await cluster.create<Counter>("Counter", `Failover-${tag}-${i}`));
      let firstFailureAt = Infinity;
      let before = 0;
      let after = 0;
      let ok = 0;
      const victim = bench.info.servers.find((s) => s.id === "cs2")!;
      const killAt = performance.now() + FAILOVER_BEFORE_MS;
      const end = killAt + FAILOVER_AFTER_MS;
      let killedAt = 0;
      let goneAfter: number | null = null;
      const killer = (async () => {
        while (performance.now() < killAt) await new Promise((r) => setTimeout(r, 20));
        process.kill(victim.pid, "SIGKILL");
        killedAt = performance.now();
        // Watched while the calls go on (not after them): when does `servers` stop listing it?
        while (performance.now() - killedAt < SERVERS_WAIT_MS) {
          if (!(await cluster.serverList()).some((s) => s.id === "cs2")) {
            goneAfter = performance.now() - killedAt;
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await Promise.all(Array.from({ length: FAILOVER_LOOPS }, async (_, loop) => {
        for (let i = 0; performance.now() < end; i++) {
          const started = performance.now();
          try {
            await counters[(loop + i) % FAILOVER_OBJECTS].read();
            ok++;
          } catch {
            if (started > firstFailureAt) after++;
            else before++;
            firstFailureAt = Math.min(firstFailureAt, performance.now());
          }
        }
      }));
      await killer;
      report.line(`failover, 3 compute servers, ${FAILOVER_LOOPS} loops of unhinted calls, cs2 killed (kill -9): ${ok} succeeded, ${before} failed up to the first detection, ${after} failed after it`);
      report.line(`   cs2 left the servers view ${goneAfter === null ? `not within ${SERVERS_WAIT_MS / 1000} s` : `after ${(goneAfter / 1000).toFixed(2)} s`}; failovers on this workstation: ${cluster.placementLog(undefined, 100000).filter((d) => d.avoided?.length).length}`);
      report.target("failover, unhinted calls failed after first detection = 0", after === 0, `${after}`);
    } finally {
      await cluster.close();
    }
  });
}
