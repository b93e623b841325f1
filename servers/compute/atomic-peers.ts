/**
 * AtomicPeers: the BranchLink of a compute server (ra-kernel/atomic-branches.ts) — how the
 * compute servers running frames of one atomic thread reach each other over the compute
 * protocol: a branch joins its coordinator and forwards its wounds to it; the coordinator
 * prepares and finishes its branches. Connections come from the process's PeerCache, found
 * through the name server's registry (ServerDirectory); a branch watches its coordinator's
 * connection to learn that it died. A log home is asked through DataHomes.
 */
import type { AtomicId, ServerId } from "../../ra-kernel/ids.js";
import type { BranchLink } from "../../ra-kernel/atomic-branches.js";
import type { ServerDirectory } from "../host/server-directory.js";
import type { PeerCache } from "../transport/peer-cache.js";
import type { Peer } from "../transport/transport.js";
import { ComputeClient } from "./protocol.js";
import type { DataHomes } from "./data-homes.js";

/** How long a branch's prepare or finish may take: its homes' fsyncs, a revert, with room to spare (ms). */
const BRANCH_CALL_TIMEOUT_MS = 30_000;

export class AtomicPeers implements BranchLink {
  constructor(
    private readonly peers: PeerCache,
    private readonly servers: ServerDirectory,
    private readonly homes: DataHomes,
  ) {}

  async join(coordinator: ServerId, id: AtomicId): Promise<boolean> {
    return (await this.client(coordinator)).call("compute.atomic.join", { id }, { timeoutMs: BRANCH_CALL_TIMEOUT_MS }).then((r) => r.joined);
  }

  async wounded(coordinator: ServerId, id: AtomicId, reason: string): Promise<void> {
    await (await this.client(coordinator)).call("compute.atomic.wounded", { id, reason: reason.slice(0, 400) }, { timeoutMs: BRANCH_CALL_TIMEOUT_MS });
  }

  async prepare(server: ServerId, req: { id: AtomicId; thread: AtomicId; attempt: number; logHome: ServerId }): Promise<{ prepared: boolean; reason?: string }> {
    return (await this.client(server)).call("compute.atomic.prepare", req, { timeoutMs: BRANCH_CALL_TIMEOUT_MS });
  }

  async finish(server: ServerId, req: { id: AtomicId; outcome: "commit" | "abort" }): Promise<{ finished: boolean }> {
    return (await this.client(server)).call("compute.atomic.finish", req, { timeoutMs: BRANCH_CALL_TIMEOUT_MS });
  }

  watch(server: ServerId, gone: () => void): () => void {
    let stopped = false;
    void this.peer(server).then(
      (peer) => {
        if (peer.closed) return void (stopped || gone());
        peer.onClose(() => void (stopped || gone()));
      },
      () => void (stopped || gone()),
    );
    return () => {
      stopped = true;
    };
  }

  async askLogHome(logHome: ServerId, thread: AtomicId, attempt: number): Promise<"commit" | "abort"> {
    const d = await this.homes.decide(logHome, { id: thread, outcome: "abort", attempt });
    return d.outcome === "commit" && d.attempt === attempt ? "commit" : "abort";
  }

  private async peer(server: ServerId): Promise<Peer> {
    return this.peers.get(await this.servers.address(server));
  }

  private async client(server: ServerId): Promise<ComputeClient> {
    return new ComputeClient(await this.peer(server));
  }
}
