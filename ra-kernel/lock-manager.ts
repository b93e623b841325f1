/**
 * LockManager: the compute server's view of the locks its isibas hold (DESIGN §5-6).
 *
 * Locks are arbitrated by each object's home (the data server's LockTable); this kernel
 * object only asks through a LockLink and remembers, per isiba (one invocation), what it
 * acquired and has not released yet:
 *
 *   acquire(isiba, req)     waits at the home (FIFO), then records the hold
 *   release(isiba, req)     forgets one such hold and releases it at the home
 *   releaseAll(isiba)       the invocation ended (returned or threw): releases what is left
 *   withMonitor(obj, t, fn) an exclusive entry: holds the object's monitor around fn
 *
 * "Released automatically when the holding thread ends": a thread's locks are released at
 * the latest when the invocation that took them returns (the UserObjectManager calls
 * releaseAll after its write-back); if the compute server dies instead, the home drops
 * everything it held when its connection closes or its lease expires.
 *
 * The thread the home sees is the invocation's thread id, so the same thread re-entering a
 * lock it holds on this server is granted at once (the home counts). An acquire still in
 * flight when its isiba ends is released as soon as the home grants it.
 *
 * Rules: `acquire` is called only for isibas still running (the IsibaPool refuses syscalls
 * of isibas that replied); errors of a release after the invocation ended are logged, never
 * thrown (the home either restarted, and forgot the lock, or drops it with our connection).
 */
import createDebug from "debug";
import { homeOf, type ServerId, type SysName, type ThreadId } from "./ids.js";
import type { AtomicContext } from "./atomic-units.js";
import { IsibaEndedError, LocksUnavailableError } from "./syscall-errors.js";
import type { MonitorCache, MonitorHold } from "./monitor-cache.js";

const log = createDebug("ra:locks");

/** The same kinds as the data protocol's: an exclusive entry's monitor, a lock, a semaphore. */
export type LockKind = "monitor" | "lock" | "semaphore";

/** The key of the monitor an exclusive entry holds. */
export const MONITOR_KEY = "monitor";

export interface LockRequest {
  object: SysName;
  key: string;
  lock: LockKind;
  thread: string;
  /** Semaphores: the permits it starts with if the home does not know it yet. */
  permits?: number;
  /** A monitor taken by a compute server's MonitorCache (`thread` is its cache thread). */
  cache?: boolean;
  /** An atomic thread's monitor (`thread` is its atomic id): the home applies wound-wait. */
  atomic?: AtomicContext;
}

export type LockReleaseRequest = Omit<LockRequest, "permits">;

/** How the kernel reaches an object's home for its locks (data.lock.* over the network). */
export interface LockLink {
  /** Resolves when granted; must wait as long as it takes (no timeout). */
  acquire(home: ServerId, body: LockRequest): Promise<{ granted: true; waitedMs: number }>;
  release(home: ServerId, body: LockReleaseRequest): Promise<{ released: boolean }>;
}

/** A link for kernels without homes (unit tests): every acquire fails with a named error. */
export const NO_LOCK_LINK: LockLink = {
  acquire: (_home, body) => Promise.reject(noLocks(body.object)),
  release: (_home, body) => Promise.reject(noLocks(body.object)),
};

function noLocks(object: SysName): LocksUnavailableError {
  return new LocksUnavailableError(`this kernel has no link to the homes' locks (lock of ${object})`, { object });
}

export interface LockManagerCounters {
  acquires: number;
  releases: number;
  /** Holds released by releaseAll: left held when their invocation ended. */
  autoReleased: number;
  /** Grants that arrived after their isiba had ended (released at once). */
  lateGrants: number;
  /** Releases the home did not confirm (logged). */
  releaseFailures: number;
}

/** One isiba's holds, in acquire order. `ended`: releaseAll ran; late grants go back. */
interface IsibaLocks {
  holds: LockReleaseRequest[];
  ended: boolean;
}

export class LockManager {
  /** isiba id -> its holds; an entry exists from its first acquire to releaseAll. */
  private readonly isibas = new Map<number, IsibaLocks>();
  private readonly stats: LockManagerCounters = { acquires: 0, releases: 0, autoReleased: 0, lateGrants: 0, releaseFailures: 0 };

  constructor(
    private readonly link: LockLink = NO_LOCK_LINK,
    /** Keeps monitors here between exclusive invocations (none: every one asks the home). */
    readonly monitors?: MonitorCache,
  ) {}

  get counters(): LockManagerCounters & { held: number } {
    let held = 0;
    for (const r of this.isibas.values()) held += r.holds.length;
    return { ...this.stats, held };
  }

  /** The holds `isiba` has not released (for tests and `threads`-style tools). */
  heldBy(isiba: number): readonly LockReleaseRequest[] {
    return this.isibas.get(isiba)?.holds ?? [];
  }

  /** Waits for the lock at its home, then records it as held by `isiba`. */
  async acquire(isiba: number, req: LockRequest): Promise<{ waitedMs: number }> {
    const record = this.recordOf(isiba);
    const { waitedMs } = await this.link.acquire(homeOf(req.object), req);
    const hold = holdOf(req);
    if (record.ended) return this.giveBackLate(isiba, hold);
    record.holds.push(hold);
    this.stats.acquires++;
    return { waitedMs };
  }

  /**
   * Releases one hold at the home. A release of something `isiba` does not hold is still
   * sent: for a semaphore it is a signal; for a lock the home answers LockNotHeldError.
   */
  async release(isiba: number, req: LockReleaseRequest): Promise<{ released: boolean }> {
    const holds = this.isibas.get(isiba)?.holds;
    const at = holds ? findLast(holds, req) : -1;
    if (at >= 0) holds!.splice(at, 1);
    const reply = await this.link.release(homeOf(req.object), holdOf(req));
    this.stats.releases++;
    return reply;
  }

  /** The invocation `isiba` ended: releases every hold it left (in parallel), never throws. */
  async releaseAll(isiba: number): Promise<void> {
    const record = this.isibas.get(isiba);
    if (!record) return;
    record.ended = true;
    this.isibas.delete(isiba);
    this.stats.autoReleased += record.holds.length;
    await Promise.all(record.holds.map((h) => this.releaseQuietly(h)));
  }

  /**
   * Waits for `object`'s monitor for `thread` at `depth` (an exclusive entry): from the
   * MonitorCache if there is one, else at the home. The hold to give back later.
   */
  async acquireMonitor(object: SysName, thread: ThreadId, depth = 0): Promise<MonitorHold> {
    const hold = this.monitors ? await this.monitors.acquire(object, thread, depth) : await this.monitorAtHome(object, thread);
    this.stats.acquires++;
    return hold;
  }

  /** Gives back a monitor from acquireMonitor: to the cache, or at its home. Never throws. */
  async releaseMonitor(hold: MonitorHold): Promise<void> {
    if (!this.monitors) return this.releaseQuietly({ object: hold.object, key: MONITOR_KEY, lock: "monitor", thread: hold.thread });
    this.stats.releases++;
    await this.monitors.release(hold);
  }

  /**
   * Early release of a cached monitor whose holder's last commit is on its way: the next local
   * waiter may enter; it goes home once `answered` settles (MonitorCache.handOff). False:
   * not possible for this hold, release it as usual.
   */
  handOffMonitor(hold: MonitorHold, answered: Promise<unknown>): boolean {
    if (!this.monitors?.handOff(hold, answered)) return false;
    this.stats.releases++;
    return true;
  }

  private async monitorAtHome(object: SysName, thread: ThreadId): Promise<MonitorHold> {
    await this.link.acquire(homeOf(object), { object, key: MONITOR_KEY, lock: "monitor", thread });
    return { object, thread, entry: null };
  }

  /**
   * Waits for `object`'s monitor for an atomic thread, at its home (never from the cache: the
   * hold lasts until the thread commits or aborts, and the home must see whose it is to
   * arbitrate by wound-wait). Reentrant for the same atomic thread.
   */
  async acquireAtomicMonitor(object: SysName, atomic: AtomicContext): Promise<void> {
    await this.link.acquire(homeOf(object), { object, key: MONITOR_KEY, lock: "monitor", thread: atomic.id, atomic });
    this.stats.acquires++;
  }

  /** Gives back a monitor from acquireAtomicMonitor (the thread committed or aborted). Never throws. */
  releaseAtomicMonitor(object: SysName, atomic: AtomicContext): Promise<void> {
    return this.releaseQuietly({ object, key: MONITOR_KEY, lock: "monitor", thread: atomic.id });
  }

  /** Runs `fn` holding `object`'s monitor for `thread` (exclusive entries); releases it after. */
  async withMonitor<T>(object: SysName, thread: ThreadId, fn: () => Promise<T>): Promise<T> {
    const req: LockReleaseRequest = { object, key: MONITOR_KEY, lock: "monitor", thread };
    await this.link.acquire(homeOf(object), req);
    this.stats.acquires++;
    try {
      return await fn();
    } finally {
      await this.releaseQuietly(req);
    }
  }

  private recordOf(isiba: number): IsibaLocks {
    let record = this.isibas.get(isiba);
    if (!record) this.isibas.set(isiba, (record = { holds: [], ended: false }));
    return record;
  }

  private async giveBackLate(isiba: number, hold: LockReleaseRequest): Promise<never> {
    this.stats.lateGrants++;
    await this.releaseQuietly(hold);
    throw new IsibaEndedError(`${hold.lock} '${hold.key}' was granted after isiba ${isiba} had ended; given back`, { isiba, op: "lock.acquire" });
  }

  private async releaseQuietly(hold: LockReleaseRequest): Promise<void> {
    try {
      await this.link.release(homeOf(hold.object), hold);
      this.stats.releases++;
    } catch (err) {
      this.stats.releaseFailures++;
      log("release of %s '%s' of %s for %s failed: %s", hold.lock, hold.key, hold.object, hold.thread, (err as Error).message);
    }
  }
}

function holdOf(req: LockReleaseRequest): LockReleaseRequest {
  return { object: req.object, key: req.key, lock: req.lock, thread: req.thread };
}

function findLast(holds: LockReleaseRequest[], req: LockReleaseRequest): number {
  for (let i = holds.length - 1; i >= 0; i--) {
    const h = holds[i];
    if (h.object === req.object && h.key === req.key && h.lock === req.lock && h.thread === req.thread) return i;
  }
  return -1;
}
