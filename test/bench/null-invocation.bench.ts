/**
 * Null invocation: what an invocation on a warm object costs over the bare transport, and
 * what an idle cluster weighs.
 *
 *   1. socket.io round trip between two processes (echo-server.ts in a child): the floor;
 *      and a bare worker_threads round trip (EchoWorker): the hop every isiba adds.
 *   2. Rectangle.area() through the typed client on a cluster of 1 name, 1 data, 2 compute
 *      servers: pinned to cs1 (warm page cache), load-balanced over cs1/cs2, and the write
 *      size(i, 2) pinned to cs1 (its page is committed at the data server before the reply).
 *   3. The socket.io round trip again with both processes pinned to one CPU, then to two
 *      (cpu-pinning.ts): on a small VM a wake-up across CPUs costs far more than one on the
 *      same CPU, and the unpinned baseline of 1. may land on either.
 *   4. VmRSS of every server process after the workload and after 1 s idle.
 * The reads and the round trip are timed in alternating rounds, so the ratio compares
 * figures taken under the same conditions.
 *
 * Targets: pinned null invocation p50 <= 1.5x the socket.io p50; all servers together
 * under 600 MB.
 */
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import { SocketIoTransport } from "../../servers/transport/socket-io-transport.js";
import type { Peer } from "../../servers/transport/transport.js";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { Rectangle } from "../../objects/examples/rectangle.js";
import { REPO_ROOT, withBenchCluster, type BenchCluster } from "./bench-cluster.js";
import type { BenchReport } from "./bench-report.js";
import { withEchoChild } from "./echo-child.js";
import { EchoWorker } from "./echo-worker.js";
import { LABEL_WIDTH, formatLatency, timeInterleaved, timeSequential, warmUp, type LatencySummary, type TimedOperation } from "./latency.js";
import { formatMb, kbToMb, residentKb } from "./resident-memory.js";
import { pin, pinAll } from "./cpu-pinning.js";

const WARM_UP = 2_000;
/** Measured calls per figure, taken in ROUNDS alternating rounds (see timeInterleaved). */
const MEASURED = 10_000;
const ROUNDS = 10;
/** Writes wait for the data server's commit (an fsync with the default durability): fewer of them. */
const WRITE_WARM_UP = 500;
const WRITE_MEASURED = 2_000;
const RATIO_TARGET = 1.5;
/** Round trips timed per CPU placement (rttByPlacement). */
const PINNED_MEASURED = 4_000;
const RSS_TARGET_MB = 600;
const IDLE_MS = 1_000;

export async function nullInvocation(report: BenchReport): Promise<void> {
  await withEchoChild((echoAddress, echoToken, echoPid) =>
    withBenchCluster({ compute: 2 }, async (bench) => {
      const peer = await new SocketIoTransport(new LamportClock(), "bench").connect(echoAddress, { token: echoToken, localId: "bench" });
      const cluster = await connect({ dir: bench.dir, workstation: "bench" });
      try {
        const pinned = await latencies(peer, cluster, report);
        const cross = await rttByPlacement(peer, echoPid, report);
        report.line(`${"null invocation p50 / two-CPU round trip".padEnd(LABEL_WIDTH)} ${(pinned / cross).toFixed(2)}x (the hops of an invocation cross CPUs here)`);
      } finally {
        await Promise.all([cluster.close(), peer.close()]);
      }
      await residentMemory(bench, report);
    }),
  );
}

/** The pinned null invocation's p50 (µs), after reporting every figure of part 2. */
async function latencies(echo: Peer, cluster: Cluster, report: BenchReport): Promise<number> {
  const worker = new EchoWorker();
  try {
    return await invocationLatencies(echo, worker, cluster, report);
  } finally {
    await worker.close();
  }
}

async function invocationLatencies(echo: Peer, worker: EchoWorker, cluster: Cluster, report: BenchReport): Promise<number> {
  const rect = await newRectangle(cluster);
  const pinned = rect.at("cs1");
  const ops = {
    rtt: () => echo.request("echo", {}),
    hop: (i: number) => worker.roundTrip(i),
    pinned: () => pinned.area(),
    balanced: () => rect.area(),
  };
  for (const op of Object.values(ops)) await warmUp(WARM_UP, op);
  const s = await timeInterleaved(ops, ROUNDS, MEASURED / ROUNDS);
  const ratio = (x: LatencySummary) => `ratio p50 ${(x.p50 / s.rtt.p50).toFixed(2)}x socket.io RTT`;
  report.line(formatLatency("socket.io round trip (2 processes)", s.rtt));
  report.line(formatLatency("worker_threads round trip (1 process)", s.hop));
  const floor = s.rtt.p50 + s.hop.p50;
  report.line(`${formatLatency("null invocation, warm, pinned cs1", s.pinned)}   ${ratio(s.pinned)} (target <= ${RATIO_TARGET}x)`);
  report.line(`${"".padEnd(LABEL_WIDTH)} ${(s.pinned.p50 / floor).toFixed(2)}x (socket.io RTT + worker RTT) = ${floor.toFixed(1)} µs (both baselines measured in this run)`);
  report.line(`${formatLatency("null invocation, load-balanced cs1/cs2", s.balanced)}   ${ratio(s.balanced)}`);

  const write: TimedOperation = (i) => pinned.size(i, 2);
  await warmUp(WRITE_WARM_UP, write);
  const w = await timeSequential(WRITE_MEASURED, write);
  report.line(`${formatLatency("write invocation size(i, 2), pinned cs1", w)}   ${ratio(w)}`);
  await expectArea(pinned, (WRITE_MEASURED - 1) * 2); // the measured run counts i from 0 again

  const r = s.pinned.p50 / s.rtt.p50;
  report.target(`null invocation p50 <= ${RATIO_TARGET}x socket.io RTT p50`, r <= RATIO_TARGET, `${r.toFixed(2)}x (${s.pinned.p50.toFixed(1)} / ${s.rtt.p50.toFixed(1)} µs)`);
  return s.pinned.p50;
}

/**
 * The socket.io round trip with both processes pinned to one CPU, then to different CPUs
 * (restored after): the unpinned baseline above lands on either, and an invocation, whose
 * hops cross processes and threads on a 2-CPU machine, mostly pays the second.
 */
async function rttByPlacement(echo: Peer, echoPid: number, report: BenchReport): Promise<number> {
  const rtt = () => echo.request("echo", {});
  try {
    pin(process.pid, 0);
    pin(echoPid, 0);
    await warmUp(WARM_UP, rtt);
    const same = await timeSequential(PINNED_MEASURED, rtt);
    pin(echoPid, os.cpus().length > 1 ? 1 : 0);
    await warmUp(WARM_UP, rtt);
    const cross = await timeSequential(PINNED_MEASURED, rtt);
    report.line(formatLatency("socket.io round trip, one CPU (pinned)", same));
    report.line(formatLatency("socket.io round trip, two CPUs (pinned)", cross));
    return cross.p50;
  } finally {
    pinAll(process.pid);
    pinAll(echoPid);
  }
}

/** A fresh Rectangle 5 x 10, its class loaded, checked through cs1 (also isolation.bench.ts). */
export async function newRectangle(cluster: Cluster): Promise<Remote<Rectangle>> {
  await cluster.load(path.join(REPO_ROOT, "objects/examples/rectangle.ts"));
  const rect = await cluster.create<Rectangle>("Rectangle", `BenchRect-${process.pid}-${Date.now()}`);
  await rect.at("cs1").size(5, 10);
  await expectArea(rect.at("cs1"), 50);
  return rect;
}

/** A benchmark of wrong answers measures nothing: check the object really computes. */
async function expectArea(rect: Remote<Rectangle>, expected: number): Promise<void> {
  const area = await rect.area();
  if (area !== expected) throw new Error(`Rectangle.area() returned ${area}, expected ${expected}`);
}

/** VmRSS of each server right after the workload and after IDLE_MS without requests. */
async function residentMemory(bench: BenchCluster, report: BenchReport): Promise<void> {
  const servers = bench.info.servers;
  const busy = servers.map((s) => residentKb(s.pid) ?? 0);
  await sleep(IDLE_MS);
  const idle = servers.map((s) => residentKb(s.pid) ?? 0);
  const row = (label: string, b: number, i: number) =>
    report.line(`${label.padEnd(LABEL_WIDTH)} after workload ${formatMb(b)}   idle ${IDLE_MS / 1000} s ${formatMb(i)}`);
  servers.forEach((s, n) => row(`resident memory ${s.id} (${s.role})`, busy[n], idle[n]));
  const total = idle.reduce((a, b) => a + b, 0);
  row(`resident memory, all ${servers.length} servers`, busy.reduce((a, b) => a + b, 0), total);
  const missing = servers.filter((_, n) => idle[n] === 0).map((s) => s.id);
  const detail = `${kbToMb(total).toFixed(1)} MB idle${missing.length ? ` (no /proc figure for ${missing.join(", ")})` : ""}`;
  report.target(`all ${servers.length} servers together < ${RSS_TARGET_MB} MB resident`, missing.length === 0 && kbToMb(total) < RSS_TARGET_MB, detail);
}
