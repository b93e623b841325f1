/**
 * Nested invocation: what one hop of thread diffusion costs next to a null invocation.
 *
 *   null     Relay.ping() from the client, pinned to cs1 (warm, writes nothing): the baseline
 *   local    Relay.callPing(B) at cs1: A invokes B.ping() on the same compute server (a
 *            syscall, a second isiba, no network hop)
 *   remote   Relay.callPing(B, "cs2") at cs1: A at cs1 invokes B.ping() at cs2 (cs1 -> cs2)
 * Timed in alternating rounds (timeInterleaved) so the ratios compare like with like.
 * No target: figures for the closing note (p50 each, ratio to the null invocation).
 */
import * as path from "node:path";
import { connect } from "../../shell/client/cluster.js";
import type { Relay } from "../fixtures/relay.js";
import { REPO_ROOT, withBenchCluster } from "./bench-cluster.js";
import type { BenchReport } from "./bench-report.js";
import { formatLatency, timeInterleaved, warmUp } from "./latency.js";

const WARM_UP = 500;
const MEASURED = 3_000;
const ROUNDS = 10;

export async function nestedInvocation(report: BenchReport): Promise<void> {
  await withBenchCluster({ compute: 2 }, async (bench) => {
    const cluster = await connect({ dir: bench.dir, workstation: "bench" });
    try {
      await cluster.load(path.join(REPO_ROOT, "test/fixtures/relay.ts"));
      const tag = `${process.pid}-${Date.now()}`;
      const a = await cluster.create<Relay>("Relay", `BenchRelayA-${tag}`, ["A"]);
      const b = await cluster.create<Relay>("Relay", `BenchRelayB-${tag}`, ["B"]);
      const [a1, b1] = [a.at("cs1"), b.at("cs1")];
      const depth = await a1.callPing(b, "cs2");
      if (depth !== 1) throw new Error(`callPing returned ${depth}, expected depth 1`);
      const ops = {
        null: () => b1.ping(),
        local: () => a1.callPing(b),
        remote: () => a1.callPing(b, "cs2"),
      };
      for (const op of Object.values(ops)) await warmUp(WARM_UP, op);
      const s = await timeInterleaved(ops, ROUNDS, MEASURED / ROUNDS);
      const ratio = (p50: number) => `ratio p50 ${(p50 / s.null.p50).toFixed(2)}x null invocation`;
      report.line(formatLatency("null invocation, warm, pinned cs1", s.null));
      report.line(`${formatLatency("nested, A at cs1 -> B at cs1 (local)", s.local)}   ${ratio(s.local.p50)}`);
      report.line(`${formatLatency("nested, A at cs1 -> B at cs2", s.remote)}   ${ratio(s.remote.p50)}`);
    } finally {
      await cluster.close();
    }
  });
}
