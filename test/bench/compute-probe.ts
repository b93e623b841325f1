/**
 * ComputeProbe: a benchmark's line to the compute servers of a BenchCluster — the
 * diagnostic `compute.probe` message (page faults and raw round trips timed inside the
 * compute server) and `compute.status`, sent with the typed ComputeClient.
 *
 *   const probe = await ComputeProbe.open(bench);
 *   await probe.fill("cs2", heap, 1000, 0xab);              // real 4 KiB at the home
 *   const us = await probe.fault("cs1", heap, 1000, "read"); // µs inside cs1
 *   const rtt = await probe.echo("cs1", "ds1", 4096);        // the raw round trip, inside cs1
 *   await probe.close();
 *
 * The figures are the compute server's own (`{micros}`): the hop from the benchmark to the
 * compute server is not in them, so a fault and the echo baseline compare like with like.
 * One connection per compute server, opened up front with the cluster token.
 */
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import type { PageNo, ServerId, SysName } from "../../ra-kernel/ids.js";
import { ComputeClient, type ComputeStatus, type ProbeRequest } from "../../servers/compute/protocol.js";
import { PeerCache } from "../../servers/transport/peer-cache.js";
import { SocketIoTransport } from "../../servers/transport/socket-io-transport.js";
import { readToken } from "../../shell/cluster-file.js";
import type { BenchCluster } from "./bench-cluster.js";

/** Setup faults may wait on recalls and commits (fsync): generous, but a hang still ends. */
const PROBE_TIMEOUT_MS = 30_000;

export class ComputeProbe {
  private constructor(
    private readonly peers: PeerCache,
    private readonly clients: Map<string, ComputeClient>,
  ) {}

  static async open(bench: BenchCluster, localId = `bench-${process.pid}`): Promise<ComputeProbe> {
    const peers = new PeerCache(new SocketIoTransport(new LamportClock(), localId), { token: readToken(bench.dir), localId });
    const clients = new Map<string, ComputeClient>();
    try {
      for (const s of bench.info.servers.filter((s) => s.role === "compute")) clients.set(s.id, new ComputeClient(await peers.get(s.address)));
    } catch (err) {
      await peers.close();
      throw err;
    }
    return new ComputeProbe(peers, clients);
  }

  /** The compute servers' ids, in cluster order (cs1, cs2, ...). */
  get servers(): string[] {
    return [...this.clients.keys()];
  }

  /** A page fault on `server`, served as an isiba's would be; µs inside the server. */
  async fault(server: string, segment: SysName, page: PageNo, mode: "read" | "write"): Promise<number> {
    return this.send(server, { op: "fault", segment, page, mode });
  }

  /** Fault for write, fill the page with `byte`, write it back (committed). */
  async fill(server: string, segment: SysName, page: PageNo, byte: number): Promise<void> {
    await this.send(server, { op: "fill", segment, page, byte });
  }

  /** Forget the page on `server` (its home is not told): the next fault there fetches bytes. */
  async drop(server: string, segment: SysName, page: PageNo): Promise<void> {
    await this.send(server, { op: "drop", segment, page });
  }

  /** Evict the page on `server` as its page cache would (an owned page's bytes go home first). */
  async evict(server: string, segment: SysName, page: PageNo): Promise<void> {
    await this.send(server, { op: "evict", segment, page });
  }

  /** A raw socket.io round trip of `size` bytes each way between `server` and data server `home`; µs inside the server. */
  async echo(server: string, home: ServerId, size: number): Promise<number> {
    return this.send(server, { op: "echo", home, size });
  }

  status(server: string): Promise<ComputeStatus> {
    return this.client(server).call("compute.status", {}, { timeoutMs: PROBE_TIMEOUT_MS });
  }

  close(): Promise<void> {
    return this.peers.close();
  }

  /** One probe; µs inside the server. (A ProbeRequest value, not a literal: the client's body type is not distributed over the union.) */
  private async send(server: string, probe: ProbeRequest): Promise<number> {
    return (await this.client(server).call("compute.probe", probe, { timeoutMs: PROBE_TIMEOUT_MS })).micros;
  }

  private client(server: string): ComputeClient {
    const c = this.clients.get(server);
    if (!c) throw new Error(`no compute server ${server} in this cluster (have ${this.servers.join(", ")})`);
    return c;
  }
}
