/**
 * Placer: places one call (an invocation or a creation) with a PlacementPolicy over a
 * LoadTable, records the decision, and fails over when the chosen server cannot be reached
 * before the call left (DESIGN §8, issue 10 point 5). Used by the workstation's client and by
 * each compute server for nested invocations, so both decide the same way.
 *
 *   const value = await placer.run({ thread, depth, object, entry }, async (server, address) => {
 *     const peer = await openPeer(peers, server, address);   // NotDeliveredError if refused
 *     return send(peer);                                     // may have started: no failover
 *   });
 *
 * Failover rule: only a NotDeliveredError from the attempt (the connection was refused, or
 * was closed before the request was sent) moves the call — it never started anywhere, so
 * running it elsewhere is transparent. The server is marked dead in the table (and
 * `onDead` told), the decision is taken again without it, and the new record lists it under
 * `avoided`. Anything else, e.g. a connection that closed while the request was out, is
 * thrown as it is: the invocation may have run, and only its caller may decide to repeat it.
 * A hinted call is never moved to another server: it fails with ServerUnreachableError,
 * unless the registry, read again, lists the server at a new address (a repaired server
 * on a new port): then it is tried there once.
 *
 * A server lost while a call may have been running there is remembered (UnsettledServers):
 * each attempt gets the ids to carry (`after`), so that the call runs only once the homes
 * took that server's uncommitted writes out or heard from it since; a call that returned
 * settled them.
 */
import type { ServerId, SysName } from "../../ra-kernel/ids.js";
import { ServerUnreachableError } from "../transport/errors.js";
import type { PeerCache } from "../transport/peer-cache.js";
import type { Peer } from "../transport/transport.js";
import type { DecisionLog, PlacementRecord } from "./decision-log.js";
import { NotDeliveredError } from "./errors.js";
import type { LoadTable } from "./load-table.js";
import type { PlacementDecision, PlacementPolicy } from "./placement-policy.js";
import { UnsettledServers } from "./unsettled-servers.js";

export interface PlacerDeps {
  /** Who decides: this compute server's id, or the workstation's. */
  by: string;
  /** This compute server (absent on a workstation). */
  here?: ServerId;
  table: LoadTable;
  policy: PlacementPolicy;
  log: DecisionLog;
  /** Learns servers when the table has no candidate (e.g. reads the registry); may throw. */
  refresh?(): Promise<void>;
  /** The address of a hinted server the table does not know; throws if there is none. */
  resolve?(id: ServerId): Promise<string>;
  /** `id` was found unreachable (e.g. ServerDirectory.forget). */
  onDead?(id: ServerId): void;
}

/** One call to place. */
export interface PlacedCall {
  thread: string;
  depth: number;
  /** The target; absent for a creation. */
  object?: SysName;
  entry: string;
  hint?: ServerId;
}

/** `after`: servers lost while a call may have been running there, for the call to carry (see header). */
export type Attempt<T> = (server: ServerId, address: string, decision: PlacementDecision, after: string[]) => Promise<T>;

export class Placer {
  /** Servers lost with a call that may have been running there (see header). */
  readonly unsettled = new UnsettledServers();

  constructor(readonly deps: PlacerDeps) {}

  async run<T>(call: PlacedCall, attempt: Attempt<T>): Promise<T> {
    const avoided: ServerId[] = [];
    let hintRetried = false;
    for (;;) {
      const decision = await this.decide(call, avoided);
      const address = await this.addressOf(decision.server);
      this.record(call, decision, avoided);
      const done = this.deps.table.begin(decision.server);
      const after = this.unsettled.snapshot();
      try {
        const value = await attempt(decision.server, address, decision, after.ids);
        this.unsettled.settled(after);
        return value;
      } catch (err) {
        this.noteFailure(decision.server, err);
        if (!(err instanceof NotDeliveredError)) {
          this.unsettled.note(err);
          throw err;
        }
        if (decision.reason !== "hint") avoided.push(decision.server);
        else if (hintRetried || !(await this.movedSince(decision.server, address))) throw unreachable(decision.server, address, err.cause);
        else hintRetried = true;
      } finally {
        done();
      }
    }
  }

  /** Whether the registry now lists `id` somewhere else than `address` (a repaired server on a new port). */
  private async movedSince(id: ServerId, address: string): Promise<boolean> {
    await this.deps.refresh?.().catch(() => undefined);
    const now = this.deps.table.addressOf(id);
    return now !== undefined && now !== address;
  }

  /** The policy's choice among live servers, `avoided` left out. */
  async decide(call: PlacedCall, avoided: ServerId[] = []): Promise<PlacementDecision> {
    const { table, policy, here } = this.deps;
    if (call.hint) return policy.place({ request: { hint: call.hint }, candidates: [], warm: [] });
    let candidates = table.candidates().filter((c) => !avoided.includes(c.id));
    if (candidates.length === 0 && this.deps.refresh) {
      await this.deps.refresh().catch(() => undefined);
      candidates = table.candidates().filter((c) => !avoided.includes(c.id));
    }
    if (candidates.length === 0) {
      const tried = avoided.length ? ` (unreachable: ${avoided.join(", ")})` : "";
      throw new ServerUnreachableError(`no compute server is reachable${tried}`, { peer: "compute", address: "" });
    }
    const warm = call.object ? table.warmOn(call.object) : [];
    return policy.place({ request: { object: call.object, here }, candidates, warm });
  }

  private async addressOf(id: ServerId): Promise<string> {
    const known = this.deps.table.addressOf(id);
    if (known !== undefined) return known;
    if (!this.deps.resolve) throw new ServerUnreachableError(`compute server ${id} is not known here`, { peer: id, address: "" });
    return this.deps.resolve(id);
  }

  private record(call: PlacedCall, d: PlacementDecision, avoided: ServerId[]): void {
    const r: PlacementRecord = { thread: call.thread, depth: call.depth, entry: call.entry, server: d.server, reason: d.reason, by: this.deps.by, at: Date.now() };
    if (call.object) r.object = call.object;
    if (d.detail) r.detail = d.detail;
    if (avoided.length) r.avoided = [...avoided];
    this.deps.log.record(r);
  }

  /** Unreachable, delivered or not: no further placement goes there until it shows up again. */
  private noteFailure(server: ServerId, err: unknown): void {
    if (!(err instanceof NotDeliveredError) && !(err instanceof ServerUnreachableError && err.peer === server)) return;
    this.deps.table.markDead(server);
    this.deps.onDead?.(server);
  }
}

/**
 * The open connection to `address`, or NotDeliveredError when none can be had (refused, or
 * closed before anything was sent on it): the attempt's first step.
 */
export async function openPeer(peers: PeerCache, server: ServerId, address: string): Promise<Peer> {
  for (let tries = 0; tries < 2; tries++) {
    let peer: Peer;
    try {
      peer = await peers.get(address);
    } catch (err) {
      if (!(err instanceof ServerUnreachableError)) throw err;
      throw new NotDeliveredError(server, address, err);
    }
    if (!peer.closed) return peer;
  }
  throw new NotDeliveredError(server, address, new ServerUnreachableError(`connection to ${address} closed before the call was sent`, { peer: server, address }));
}

function unreachable(server: ServerId, address: string, cause: Error): ServerUnreachableError {
  return new ServerUnreachableError(`compute server ${server} at ${address} is unreachable: ${cause.message}`, { peer: server, address });
}
