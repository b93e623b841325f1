/**
 * ServerRegistry: the name server's view of which registered servers are alive — a lease per
 * server, kept in memory next to the durable bindings under /sys/servers.
 *
 *   const registry = new ServerRegistry({ selfId: "ns1", leaseMs: 1500 });
 *   registry.register(info, peer);           // name.register-server: a fresh lease
 *   registry.renew(id, address, peer);       // name.renew: false -> the server registers again
 *   registry.stateOf(id);                    // {state: "up" | "down", reason}
 *   registry.sweep();                        // periodically: reports up<->down transitions
 *
 * A server is `up` while its lease runs (renewed within `leaseMs`) and the connection it
 * renews over is open; it is `down` as soon as that connection closes or the lease runs out.
 * Down is a view, not a verdict: the binding stays, and the next renewal or registration
 * makes it up again (a server that was only slow comes back by itself).
 *
 * A lease runs only while the name server runs: when a sweep finds that the name server
 * itself stood still (its sweeps stopped for over half a lease: SIGSTOP, a long GC or a busy
 * loop), that time is not held against anybody — the renewals it could not read are queued
 * behind the sweep. So it must be swept every `sweepMs`, well under half a lease.
 *
 * Leases are not durable. A restarted name server knows none: for `graceMs` after it starts,
 * a binding without a lease counts as up (its server is reconnecting and registering again),
 * so a restart does not make everybody look dead. The name server itself (`selfId`) is up
 * whenever it answers. Renewals that arrive for an unknown server, or with an address other
 * than its lease's (a newer process took the id), return false: the caller registers again.
 *
 * Must not: keep a binding's meta here (that is the directory's), block, or persist anything.
 * Every state change goes through `transition`, which logs it.
 */
import createDebug from "debug";
import type { ServerId } from "../../ra-kernel/ids.js";
import type { Peer } from "../transport/transport.js";
import type { ServerInfo } from "./protocol.js";

const log = createDebug("servers:name:registry");

/** What the registry view says of one server. */
export type ServerState = "up" | "down";

export interface ServerStatus {
  state: ServerState;
  /** Why, in a few words ("lease running", "connection closed", "lease ran out 2.1 s ago"). */
  reason: string;
}

export interface ServerRegistryOptions {
  /** The name server's own id: always up. */
  selfId?: string;
  /** @default 1500 */
  leaseMs?: number;
  /** @default 3 * leaseMs */
  graceMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** One server's lease; `peer`: the connection it last registered or renewed over. */
interface Lease {
  address: string;
  peer: Peer;
  renewedAt: number;
  /** Set when `peer` closed; cleared by a renewal or registration. */
  disconnected: boolean;
  /** The state last reported by `sweep` or a transition (for change pushes). */
  reported: ServerState;
}

export class ServerRegistry {
  readonly leaseMs: number;
  private readonly graceMs: number;
  private readonly now: () => number;
  private readonly startedAt: number;
  private lastSweepAt: number;
  /** Leases by server id; an entry lives as long as the name server (down ones included). */
  private readonly leases = new Map<string, Lease>();
  private readonly listeners = new Set<(id: ServerId, state: ServerState) => void>();

  constructor(private readonly options: ServerRegistryOptions = {}) {
    this.leaseMs = options.leaseMs ?? 1500;
    this.graceMs = options.graceMs ?? 3 * this.leaseMs;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.lastSweepAt = this.startedAt;
  }

  /** Called with every up<->down transition (registration, renewal, close, sweep). */
  onTransition(listener: (id: ServerId, state: ServerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A (re)registration: a fresh lease over `peer`. */
  register(info: ServerInfo, peer: Peer): void {
    const lease: Lease = { address: info.address, peer, renewedAt: this.now(), disconnected: false, reported: this.leases.get(info.id)?.reported ?? "down" };
    this.leases.set(info.id, lease);
    this.watchClose(info.id, lease, peer);
    lease.disconnected = peer.closed;
    this.transition(info.id, lease, peer.closed ? "down" : "up", "registered");
  }

  /** Ends a server's lease (its registration was removed): its next renewal is refused, so it registers again. */
  forget(id: ServerId): void {
    this.leases.delete(id);
  }

  /** Extends a lease; false when there is none for this id and address (register again). */
  renew(id: ServerId, address: string, peer: Peer): boolean {
    const lease = this.leases.get(id);
    if (!lease || lease.address !== address) return false;
    lease.renewedAt = this.now();
    lease.disconnected = false;
    if (lease.peer !== peer) {
      lease.peer = peer;
      this.watchClose(id, lease, peer);
    }
    this.transition(id, lease, "up", "renewed");
    return true;
  }

  stateOf(id: string): ServerStatus {
    if (id === this.options.selfId) return { state: "up", reason: "the name server itself" };
    const lease = this.leases.get(id);
    if (!lease) return this.unleased();
    if (lease.disconnected) return { state: "down", reason: "its connection to the name server closed" };
    const age = this.now() - lease.renewedAt;
    if (age > this.leaseMs) return { state: "down", reason: `lease ran out ${((age - this.leaseMs) / 1000).toFixed(1)} s ago` };
    return { state: "up", reason: "lease running" };
  }

  /** Reports leases that ran out since the last sweep (renewals and closes report at once). */
  sweep(): void {
    const now = this.now();
    const gap = now - this.lastSweepAt;
    this.lastSweepAt = now;
    if (gap > this.leaseMs / 2) this.forgive(gap);
    for (const [id, lease] of this.leases) {
      const { state, reason } = this.stateOf(id);
      this.transition(id as ServerId, lease, state, reason);
    }
  }

  /** For /metrics: leases by state (`clouds_registry_servers_up`, `..._down`). */
  figures(): { registry_servers_up: number; registry_servers_down: number } {
    let up = 0;
    for (const id of this.leases.keys()) if (this.stateOf(id).state === "up") up++;
    return { registry_servers_up: up, registry_servers_down: this.leases.size - up };
  }

  /** The name server stood still for `gap` ms: nobody could renew meanwhile. */
  private forgive(gap: number): void {
    log("the name server stood still for %d ms: leases extended by as much", gap);
    for (const lease of this.leases.values()) lease.renewedAt += gap;
  }

  private unleased(): ServerStatus {
    if (this.now() - this.startedAt <= this.graceMs) return { state: "up", reason: "not renewed yet since the name server started" };
    return { state: "down", reason: "not registered since the name server started" };
  }

  private watchClose(id: string, lease: Lease, peer: Peer): void {
    peer.onClose(() => {
      if (this.leases.get(id) !== lease || lease.peer !== peer) return;
      lease.disconnected = true;
      this.transition(id as ServerId, lease, "down", "connection closed");
    });
  }

  /** The one place a server's reported state changes. */
  private transition(id: string, lease: Lease, state: ServerState, why: string): void {
    if (lease.reported === state) return;
    lease.reported = state;
    log("%s -> %s (%s)", id, state, why);
    for (const listener of this.listeners) listener(id as ServerId, state);
  }
}
