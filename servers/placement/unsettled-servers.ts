/**
 * UnsettledServers: the servers a caller lost while one of its calls may have been running
 * there — the call failed with ServerUnreachableError after it left (the server died, or
 * was cut off, in the middle) — until a later call has made sure of what became of them.
 *
 * Why: a client goes on after a failed call, as any sequential program does. If the lost
 * server died, its call's uncommitted writes are still in the pages' coherent images until
 * the homes take them out (when its connection closes or its lease runs out); a next call
 * that read them would build on writes that are about to vanish, and keep its own writes
 * (the torture saw a list with `undefined` at the failed append's index). So every call
 * placed after such a failure carries the lost servers' ids (`after`), and the compute
 * server that runs it first asks each home to settle them (data.holder.settle): the home
 * answers once the server answered it since (alive: the lost call may still be running, a
 * race of the program's own, README "Racy programs") or everything it held was taken back
 * and reverted. A call that carried them and returned settled them: they are dropped here.
 *
 *   const snap = unsettled.snapshot();      // ids to carry with the next call
 *   ... call succeeded:  unsettled.settled(snap)
 *   ... call failed:     unsettled.note(err)  (a ServerUnreachableError names its peer)
 */
import { isServerId, type ServerId } from "../../ra-kernel/ids.js";
import { ServerUnreachableError } from "../transport/errors.js";

/** The `after` field of a call carrying `ids` (compute.invoke, compute.create): absent when there are none. */
export function afterField(ids: readonly string[]): { after?: ServerId[] } {
  return ids.length > 0 ? { after: ids as ServerId[] } : {};
}

/** Servers remembered at most (the oldest is dropped: a caller losing more is in trouble anyway). */
export const MAX_UNSETTLED = 32;

export interface UnsettledSnapshot {
  ids: string[];
  /** The note count when taken: a server noted again after it stays unsettled. */
  at: number;
}

export class UnsettledServers {
  /** Server id -> the note count when it was last noted. */
  private readonly ids = new Map<string, number>();
  private notes = 0;

  get size(): number {
    return this.ids.size;
  }

  /**
   * Remembers the server a call lost while it may have been running (a ServerUnreachableError's
   * peer). Only a server id: the name server's NameServerUnreachableError names "name server",
   * which holds no pages to settle — and an `after` naming it is refused as a bad request by
   * every compute server, so every later call failed until one got through.
   */
  note(err: unknown): void {
    if (!(err instanceof ServerUnreachableError) || !isServerId(err.peer)) return;
    this.ids.delete(err.peer);
    this.ids.set(err.peer, ++this.notes);
    if (this.ids.size > MAX_UNSETTLED) this.ids.delete(this.ids.keys().next().value!);
  }

  snapshot(): UnsettledSnapshot {
    return { ids: [...this.ids.keys()], at: this.notes };
  }

  /** A call that carried `snap` returned: its servers are settled, unless lost again since. */
  settled(snap: UnsettledSnapshot): void {
    for (const id of snap.ids) if ((this.ids.get(id) ?? Infinity) <= snap.at) this.ids.delete(id);
  }
}
