/**
 * MonitorCache: exclusive entries' monitors kept on this compute server between invocations
 * (lock caching, as a page is cached): acquire and release are local until another server
 * asks the home for the monitor.
 *
 * The home (servers/data/lock-table.ts) sees one holder per cached monitor: a *cache thread*
 * (`cache@cs1#7`) that this server acquired with `cache: true`. Behind it, this server grants
 * the monitor to its own threads, one at a time, FIFO:
 *
 *   acquire(object, thread, depth)  a top-level invocation (depth 0) takes the monitor from the
 *                                   cache (asking the home for it the first time); a nested one
 *                                   goes to the home as itself (see "Re-entry" below)
 *   release(hold)                   the next local waiter gets it; if the home recalled it, it
 *                                   goes home instead (data.lock.release of the cache thread)
 *   handOff(hold, answered)         early release: the holder's last commit is *sent*, not yet
 *                                   answered; the next local waiter enters now, and the monitor
 *                                   goes home only once `answered` settled (see below)
 *   recall(object, cacheThread, waiter)  the home has a waiter: answer
 *       "released"  nothing runs in it here: the home releases the cache thread now;
 *       "later"     a local thread is inside: no more local grants, it goes home at its release
 *                   (local waiters then ask the home like anyone: FIFO there, no barging);
 *       "convert"   the waiter is the very thread inside it here (a thread that diffused to
 *                   another server and re-enters the object there): the home makes that thread
 *                   the holder with our count, so it re-enters as it does without caching
 *   dropHome(home)                  the home forgot our holds (connection closed, lease over,
 *                                   restart): every monitor cached of it is gone here too
 *
 * Re-entry: only depth-0 frames take the monitor from the cache, so a thread re-entering an
 * object it holds does so at depth >= 1: here, it re-enters locally; elsewhere, it asks the
 * home as itself, whose recall then finds it inside here ("convert"). Nothing else changes for
 * the home: the monitor is one holder, FIFO, dropped with a dead compute server's lease.
 *
 * Crash consistency is unchanged: the monitor orders invocations, the commits make their
 * writes durable; a thread inside a monitor cached of a home that was dropped keeps running
 * but its commits are refused (the DsmClient aborts segments spanning the drop).
 *
 * Early release (handOff): a local successor may read words of its predecessor's commit
 * before the home decided it. That is safe only because both run here: their commits travel
 * in order on one connection, the home decides them in that order and refuses a successor's
 * sent before it learned of its predecessor's refusal (servers/data/commit-chains.ts), the
 * DsmClient aborts segments of the object begun before a refusal, and every reply waits for
 * its own commit, which is durable only after its predecessor's. A thread of another server
 * enjoys none of that: the monitor goes home (a recall's "released", or the release after
 * "later") only when every handed-off commit was answered here, its writers counted off.
 *
 * Rules: event-loop only. Every grant, release and recall runs synchronously on the entry, so
 * a recall never interleaves with a local hand-over.
 */
import createDebug from "debug";
import { homeOf, type ServerId, type SysName, type ThreadId } from "./ids.js";
import type { LockLink, LockReleaseRequest } from "./lock-manager.js";

const log = createDebug("ra:locks");

/** The key of the monitor an exclusive entry holds (LockManager says the same). */
const MONITOR = "monitor";

export type RecallAnswer = { action: "released" } | { action: "later" } | { action: "convert"; thread: string; count: number };

/** A monitor held by a thread of this server: through the cache (entry), or at the home as itself. */
export interface MonitorHold {
  object: SysName;
  thread: ThreadId;
  entry: CachedMonitor | null;
}

type State = "acquiring" | "held" | "recalled" | "gone";

interface Waiter {
  thread: ThreadId;
  resolve(hold: MonitorHold): void;
  reject(err: unknown): void;
}

export interface CachedMonitor {
  readonly object: SysName;
  readonly home: ServerId;
  /** The holder the home knows. */
  readonly cacheThread: string;
  state: State;
  /** The local thread inside it (null: idle) and how many times it entered. */
  holder: ThreadId | null;
  depth: number;
  /** Local threads waiting for the holder to leave, FIFO. */
  readonly queue: Waiter[];
  /** The holder's remaining entries moved to the home as its own holds ("convert"). */
  converted: boolean;
  /** Settles when the home answered our cache acquire. */
  granted: Promise<void>;
  /** Commits of holders that left early (handOff) not answered yet: the monitor stays here until then. */
  answering: number;
  /** Recalled while `answering`: it goes home when they are. */
  goHome: boolean;
}

export interface MonitorCacheCounters {
  /** Monitors granted from the cache without a message. */
  localGrants: number;
  /** Cache acquisitions at a home. */
  homeAcquires: number;
  recalls: number;
  conversions: number;
  /** Holders that left before their commit was answered (early release). */
  handOffs: number;
}

export class MonitorCache {
  private readonly entries = new Map<SysName, CachedMonitor>();
  private readonly byCacheThread = new Map<string, CachedMonitor>();
  private next = 0;
  readonly counters: MonitorCacheCounters = { localGrants: 0, homeAcquires: 0, recalls: 0, conversions: 0, handOffs: 0 };

  constructor(private readonly link: LockLink, private readonly server: string) {}

  /** Takes `object`'s monitor for `thread` (see header): from the cache, or at the home as itself. */
  async acquire(object: SysName, thread: ThreadId, depth: number): Promise<MonitorHold> {
    const e = this.entries.get(object);
    if (e && e.holder === thread && e.state !== "gone" && !e.converted) {
      e.depth++;
      this.counters.localGrants++;
      return { object, thread, entry: e };
    }
    if (depth > 0 || e?.state === "recalled") return this.atHome(object, thread);
    const entry = e ?? this.start(object);
    if (entry.state === "held" && entry.holder === null && entry.queue.length === 0) return this.take(entry, thread);
    return new Promise((resolve, reject) => entry.queue.push({ thread, resolve, reject }));
  }

  /** Gives back one entry of a hold (see header). Never throws. */
  async release(hold: MonitorHold): Promise<void> {
    const e = hold.entry;
    if (!e || e.converted) return this.releaseAtHome({ object: hold.object, key: MONITOR, lock: "monitor", thread: hold.thread });
    if (--e.depth > 0) return;
    this.vacate(e);
  }

  /**
   * Early release (see header): the holder's last commit is on its way, so the next local
   * waiter may enter now; the monitor goes home only once `answered` settled. False, and
   * nothing done, for a hold that cannot be handed on so (at the home, converted, re-entered).
   */
  handOff(hold: MonitorHold, answered: Promise<unknown>): boolean {
    const e = hold.entry;
    if (!e || e.converted || e.state === "gone" || e.holder !== hold.thread || e.depth !== 1) return false;
    e.answering++;
    const settled = () => {
      if (--e.answering === 0 && e.goHome && e.state === "recalled") this.giveBack(e);
    };
    answered.then(settled, settled);
    this.counters.handOffs++;
    e.depth = 0;
    this.vacate(e);
    return true;
  }

  /** The home has `waiter` waiting for the monitor we cache as `cacheThread` (see header). */
  async recall(object: SysName, cacheThread: string, waiter: string): Promise<RecallAnswer> {
    this.counters.recalls++;
    const e = this.byCacheThread.get(cacheThread);
    if (!e || e.object !== object || e.state === "gone") return { action: "released" };
    // The home recalls only what it granted: our reply's continuation may not have run yet.
    if (e.state === "acquiring") await e.granted;
    if ((e.state as State) === "gone") return { action: "released" };
    if (e.holder === waiter) return this.convert(e);
    if (e.holder === null && e.answering > 0) {
      // Idle, but commits handed off are not answered yet: home once they are.
      e.state = "recalled";
      e.goHome = true;
      return { action: "later" };
    }
    if (e.holder === null) {
      this.forget(e);
      this.retryQueued(e);
      return { action: "released" };
    }
    e.state = "recalled";
    return { action: "later" };
  }

  /** The home dropped what we held of it: its monitors are not cached here any more. */
  dropHome(home: ServerId): void {
    for (const e of [...this.entries.values()]) {
      if (e.home !== home) continue;
      this.forget(e);
      if (e.holder === null) this.retryQueued(e);
    }
  }

  /** Monitors cached here now (metrics, tests). */
  get size(): number {
    return this.entries.size;
  }

  private start(object: SysName): CachedMonitor {
    const home = homeOf(object);
    const cacheThread = `cache@${this.server}#${++this.next}`;
    const e: CachedMonitor = { object, home, cacheThread, state: "acquiring", holder: null, depth: 0, queue: [], converted: false, granted: Promise.resolve(), answering: 0, goHome: false };
    this.entries.set(object, e);
    this.byCacheThread.set(cacheThread, e);
    this.counters.homeAcquires++;
    e.granted = this.link.acquire(home, { object, key: MONITOR, lock: "monitor", thread: cacheThread, cache: true }).then(
      () => this.granted(e),
      (err: unknown) => this.refused(e, err),
    );
    return e;
  }

  private granted(e: CachedMonitor): void {
    if (e.state === "gone") {
      // Dropped while the grant was on its way: the home may still count it (give it back).
      void this.releaseAtHome({ object: e.object, key: MONITOR, lock: "monitor", thread: e.cacheThread });
      this.retryQueued(e);
      return;
    }
    e.state = "held";
    this.handOver(e);
  }

  private refused(e: CachedMonitor, err: unknown): void {
    this.forget(e);
    for (const w of e.queue.splice(0)) w.reject(err);
  }

  /** The holder left: the next local waiter enters, or the monitor goes home (once handed-off commits are answered). */
  private vacate(e: CachedMonitor): void {
    e.holder = null;
    if (e.state === "held") return this.handOver(e);
    if (e.state === "recalled") {
      if (e.answering === 0) this.giveBack(e);
      else e.goHome = true;
    }
    this.retryQueued(e);
  }

  /** The next local waiter enters (the monitor is held here and idle). */
  private handOver(e: CachedMonitor): void {
    const w = e.queue.shift();
    if (w) w.resolve(this.take(e, w.thread));
  }

  private take(e: CachedMonitor, thread: ThreadId): MonitorHold {
    e.holder = thread;
    e.depth = 1;
    this.counters.localGrants++;
    return { object: e.object, thread, entry: e };
  }

  private convert(e: CachedMonitor): RecallAnswer {
    this.counters.conversions++;
    e.converted = true;
    this.forget(e);
    this.retryQueued(e);
    return { action: "convert", thread: e.holder!, count: e.depth };
  }

  /** The monitor goes home: the cache thread's hold is released there. */
  private giveBack(e: CachedMonitor): void {
    this.forget(e);
    void this.releaseAtHome({ object: e.object, key: MONITOR, lock: "monitor", thread: e.cacheThread });
  }

  private forget(e: CachedMonitor): void {
    e.state = "gone";
    if (this.entries.get(e.object) === e) this.entries.delete(e.object);
    this.byCacheThread.delete(e.cacheThread);
  }

  /** Local waiters of a cache that is gone ask again: a new cache, queued at the home. */
  private retryQueued(e: CachedMonitor): void {
    for (const w of e.queue.splice(0)) this.acquire(e.object, w.thread, 0).then(w.resolve, w.reject);
  }

  private async atHome(object: SysName, thread: ThreadId): Promise<MonitorHold> {
    await this.link.acquire(homeOf(object), { object, key: MONITOR, lock: "monitor", thread });
    return { object, thread, entry: null };
  }

  private async releaseAtHome(hold: LockReleaseRequest): Promise<void> {
    try {
      await this.link.release(homeOf(hold.object), hold);
    } catch (err) {
      log("release of the monitor of %s for %s failed: %s", hold.object, hold.thread, (err as Error).message);
    }
  }
}
