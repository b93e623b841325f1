/**
 * Null invocation: what an invocation on a warm object costs over the bare transport, and
 * what an idle cluster weighs.
 *
 *   1. socket.io round trip between two processes (echo-server.ts in a child): the floor.
 *   2. Rectangle.area() through the typed client on a cluster of 1 name, 1 data, 2 compute
 *      servers: pinned to cs1 (warm page cache), load-balanced over cs1/cs2, and the write
 *      size(i, 2) pinned to cs1 (its page is committed at the data server before the reply).
 *   3. VmRSS of every server process after the workload and after 1 s idle.
 *
 * Targets: pinned null invocation p50 <= 1.5x the socket.io p50; all servers together
 * under 600 MB.
 */
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import { SocketIoTransport } from "../../servers/transport/socket-io-transport.js";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { Rectangle } from "../../objects/examples/rectangle.js";
import { REPO_ROOT, withBenchCluster, type BenchCluster } from "./bench-cluster.js";
import type { BenchReport } from "./bench-report.js";
import { withEchoChild } from "./echo-child.js";
import { LABEL_WIDTH, formatLatency, timeSequential, warmUp, type LatencySummary, type TimedOperation } from "./latency.js";
import { formatMb, kbToMb, residentKb } from "./resident-memory.js";

const WARM_UP = 2_000;
const MEASURED = 10_000;
/** Writes wait for the data server's commit (an fsync with the default durability): fewer of them. */
const WRITE_WARM_UP = 500;
const WRITE_MEASURED = 2_000;
const RATIO_TARGET = 1.5;
const RSS_TARGET_MB = 600;
const IDLE_MS = 1_000;

export async function nullInvocation(report: BenchReport): Promise<void> {
  const rtt = await socketIoRoundTrip();
  report.line(formatLatency("socket.io round trip (2 processes)", rtt));
  await withBenchCluster({ compute: 2 }, async (bench) => {
    const cluster = await connect({ dir: bench.dir, workstation: "bench" });
    try {
      await invocations(cluster, report, rtt);
    } finally {
      await cluster.close();
    }
    await residentMemory(bench, report);
  });
}

/** The bench process asks an echo server in another process, one request at a time. */
async function socketIoRoundTrip(): Promise<LatencySummary> {
  return withEchoChild(async (address, token) => {
    const peer = await new SocketIoTransport(new LamportClock(), "bench").connect(address, { token, localId: "bench" });
    try {
      return await warmAndTime(WARM_UP, MEASURED, () => peer.request("echo", {}));
    } finally {
      await peer.close();
    }
  });
}

async function invocations(cluster: Cluster, report: BenchReport, rtt: LatencySummary): Promise<void> {
  await cluster.load(path.join(REPO_ROOT, "objects/examples/rectangle.ts"));
  const rect = await cluster.create<Rectangle>("Rectangle", `BenchRect-${process.pid}-${Date.now()}`);
  const pinned = rect.at("cs1");
  await pinned.size(5, 10);
  await expectArea(pinned, 50);

  const measure = async (label: string, op: TimedOperation, warm = WARM_UP, count = MEASURED) => {
    const s = await warmAndTime(warm, count, op);
    report.line(`${formatLatency(label, s)}   ratio p50 ${(s.p50 / rtt.p50).toFixed(2)}x socket.io RTT`);
    return s;
  };
  const warm = await measure("null invocation, warm, pinned cs1", () => pinned.area());
  const ratio = warm.p50 / rtt.p50;
  report.target(`null invocation p50 <= ${RATIO_TARGET}x socket.io RTT p50`, ratio <= RATIO_TARGET, `${ratio.toFixed(2)}x (${warm.p50.toFixed(1)} / ${rtt.p50.toFixed(1)} µs)`);
  await measure("null invocation, load-balanced cs1/cs2", () => rect.area());
  await measure("write invocation size(i, 2), pinned cs1", (i) => pinned.size(i, 2), WRITE_WARM_UP, WRITE_MEASURED);
  await expectArea(pinned, (WRITE_MEASURED - 1) * 2); // the measured run counts i from 0 again
}

async function warmAndTime(warm: number, count: number, op: TimedOperation): Promise<LatencySummary> {
  await warmUp(warm, op);
  return timeSequential(count, op);
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
