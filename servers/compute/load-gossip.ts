/**
 * LoadGossip: how a compute server shares its load without a centre (DESIGN §8). Every
 * `reportIntervalMs` it builds a LoadReport and pushes it (compute.load) to every other
 * compute server in its LoadTable and to every workstation that subscribed
 * (compute.subscribe) on a connection still open; every `registryRefreshMs` it also reads
 * the registry to learn compute servers (failures ignored: reports carry membership too) —
 * sooner after the start (every round, then twice as long each time up to
 * registryRefreshMs), so servers started together find each other at once.
 *
 *   const gossip = new LoadGossip({ id, address, table, peers, servers, snapshot });
 *   gossip.start();  ...  gossip.subscribe(peer) -> the current report  ...  gossip.stop();
 *
 * Rules:
 * - No process is needed by all: each server pushes to those it knows, and learns the others
 *   from what it receives. Losing one server loses its reports only.
 * - At most one push in flight per target: a slow peer skips rounds, it never queues them.
 * - A target whose connection is refused is marked dead in the table (no placement goes
 *   there); a target that merely failed to answer is left alone (no false detection).
 * - The table holds this server too (merged from its own report), so nested placement sees
 *   "here" as a candidate like the others.
 */
import createDebug from "debug";
import type { ServerId } from "../../ra-kernel/ids.js";
import type { ServerDirectory } from "../host/server-directory.js";
import type { PeerCache } from "../transport/peer-cache.js";
import type { Peer } from "../transport/transport.js";
import type { LoadReport, ServerLoad, WarmObject } from "../placement/load-report.js";
import type { LoadTable } from "../placement/load-table.js";
import { NotDeliveredError } from "../placement/errors.js";
import { openPeer } from "../placement/placer.js";
import { MAX_MEMBERS } from "../placement/load-report.js";

const log = createDebug("servers:compute:gossip");

/** A push that got no answer within this is abandoned (the next round tries again). */
const PUSH_TIMEOUT_MS = 2000;

export interface LoadGossipDeps {
  id: ServerId;
  address: string;
  table: LoadTable;
  peers: PeerCache;
  /** The registry (null: learn members from reports only). */
  servers: ServerDirectory | null;
  /** This server's load and largest working sets now. */
  snapshot(): { load: ServerLoad; warm: WarmObject[] };
}

export class LoadGossip {
  private readonly incarnation = Date.now();
  private seq = 0;
  private readonly subscribers = new Set<Peer>();
  /** Targets (server ids, or subscribers' remote ids) with a push in flight. */
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private lastRegistryRead = 0;
  /** Wait before the next registry read: grows from reportIntervalMs to registryRefreshMs. */
  private registryDelay: number;
  /** Reports pushed (metrics). */
  pushed = 0;

  constructor(private readonly deps: LoadGossipDeps) {
    this.registryDelay = deps.table.options.reportIntervalMs;
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.deps.table.options.reportIntervalMs);
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.subscribers.clear();
  }

  /** Sends this server's reports to `peer` (a workstation) until its connection closes. */
  subscribe(peer: Peer): LoadReport {
    if (!this.subscribers.has(peer)) {
      this.subscribers.add(peer);
      peer.onClose(() => this.subscribers.delete(peer));
    }
    return this.report();
  }

  /** This server's report now (also merged into its own table). */
  report(): LoadReport {
    const { load, warm } = this.deps.snapshot();
    const members = this.deps.table.members().filter((m) => m.id !== this.deps.id).slice(0, MAX_MEMBERS);
    const r: LoadReport = { server: this.deps.id, address: this.deps.address, incarnation: this.incarnation, seq: this.seq++, load, warm, members };
    this.deps.table.merge(r);
    return r;
  }

  private tick(): void {
    this.readRegistry();
    const r = this.report();
    for (const m of r.members) this.pushToServer(m.id, m.address, r);
    for (const peer of this.subscribers) this.push(`ws:${peer.remoteId}`, peer, r);
  }

  private pushToServer(id: ServerId, address: string, r: LoadReport): void {
    if (this.inFlight.has(id)) return;
    this.inFlight.add(id);
    openPeer(this.deps.peers, id, address).then(
      (peer) => this.send(peer, r),
      (err) => {
        if (err instanceof NotDeliveredError) this.deps.table.markDead(id);
        log("report to %s not delivered: %s", id, (err as Error).message);
      },
    ).finally(() => this.inFlight.delete(id));
  }

  private push(key: string, peer: Peer, r: LoadReport): void {
    if (this.inFlight.has(key)) return;
    this.inFlight.add(key);
    this.send(peer, r).finally(() => this.inFlight.delete(key));
  }

  private async send(peer: Peer, r: LoadReport): Promise<void> {
    try {
      await peer.request("compute.load", { report: r }, { timeoutMs: PUSH_TIMEOUT_MS });
      this.pushed++;
    } catch (err) {
      log("report to %s failed: %s", peer.remoteId, (err as Error).message);
    }
  }

  /** Learns compute servers from the registry, at most every registryRefreshMs, in the background. */
  private readRegistry(): void {
    const { servers, table, id } = this.deps;
    if (!servers || performance.now() - this.lastRegistryRead < this.registryDelay) return;
    this.lastRegistryRead = performance.now();
    this.registryDelay = Math.min(this.registryDelay * 2, table.options.registryRefreshMs);
    servers.list("compute").then(
      (list) => { for (const s of list) if (s.id !== id) table.noteMember(s.id, s.address); },
      (err) => log("registry not read: %s", (err as Error).message),
    );
  }
}
