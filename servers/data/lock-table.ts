/**
 * LockTable: the home's arbiter of its objects' monitors, locks and semaphores (DESIGN §5-6).
 *
 * A data server arbitrates the synchronization of the objects it homes, as it is already the
 * directory of their pages. Compute servers send data.lock.acquire / data.lock.release; the
 * DataServer's switch calls `acquire` / `release` here with the requesting compute server's
 * id. One lock per (object, key, kind):
 *
 *   monitor, lock  one holder thread at a time, REENTRANT: the holding thread gets it again
 *                  at once, through whichever compute server it now runs on (A -> B -> A
 *                  across servers), and must release it as many times (a count).
 *   semaphore      `permits` given by the first acquire (default 1; later values are ignored
 *                  for as long as the home runs); each acquire takes one permit, also by a
 *                  thread that already holds some. A release by a thread holding permits
 *                  gives one back; a release by a thread holding none is a SIGNAL: it adds a
 *                  permit (producer/consumer), so the count may grow past `permits`. A
 *                  semaphore first met in a release (a signal) starts with 0 permits.
 *
 * Waiters are served strictly FIFO: a newcomer never passes a queued waiter, even when a
 * permit is free. An acquire's promise resolves when it is granted (the reply leaves only
 * then) or rejects with LockWaitCancelledError when its server or thread is dropped.
 *
 * Holders are named by thread id alone (ids are unique cluster-wide and a thread keeps its
 * id across servers); each hold still records the compute server that asked, so that
 * `dropServer` frees everything a dead compute server held or waited for, `dropWaiters`
 * cancels only its waits (its connection closed: their grants could not be delivered), and
 * `releaseThread` everything one thread held. State is in memory only: a home that
 * restarts forgets every lock, and its compute servers see the connection close.
 *
 * Cached monitors: a compute server may take a monitor for its MonitorCache
 * (ra-kernel/monitor-cache.ts) with `cache: true` and a cache thread of its own as the
 * thread; it then hands the monitor to its threads itself. Such a holder is told when
 * someone waits behind it (`onRecall`, once per waiting thread), and answers by releasing
 * it — or, if the waiter is the very thread inside the monitor there (it re-enters the object
 * through another server), by `convert`: that thread becomes the holder with the count the
 * cache had, and re-enters as it would without caching.
 *
 * Atomic threads (DESIGN §7a, issue 12) hold their monitors and locks until they commit or
 * abort, so two of them may each wait for the other. An acquire of an atomic thread names it
 * (`atomic`: its id, also its `thread`, and its start `since`); conflicts on a monitor or lock
 * are then resolved by WOUND-WAIT, never by a timeout:
 *   - an older atomic thread (smaller `since`, then smaller id) finding a younger one holding
 *     the lock *wounds* it (`onWound`: its servers are asked to abort it, which releases the
 *     lock) and waits for that; a younger one waits for an older holder;
 *   - a non-atomic thread never waits for an atomic one: it wounds every atomic holder it
 *     queues behind. It cannot be aborted, so an atomic thread that waits for it (behind a
 *     non-atomic holder) can never be part of a cycle of waits.
 * So every wait that lasts is a younger atomic thread's, or anyone's behind a non-atomic
 * holder: no cycle. Waiters are served FIFO, but an atomic waiter queues ahead of younger
 * atomic ones right in front of it (enqueue), so a grant seldom goes to a thread that an
 * older one behind it would wound at once. The check runs when a waiter queues and after every grant (a waiter
 * queued earlier may be older than the new holder). A holder is wounded once per lock.
 * Semaphores are left out (several holders share their permits): an atomic thread waiting
 * on one is not protected from deadlock.
 *
 * Rules: called on the server's event loop only. Grants happen synchronously inside
 * release / drop, so nothing can slip in between a release and the next waiter's grant.
 */
import createDebug from "debug";
import type { AtomicId, ServerId, SysName } from "../../ra-kernel/ids.js";
import type { AtomicContext } from "../../ra-kernel/atomic-units.js";
import { MONITOR_KEY } from "../../ra-kernel/lock-manager.js";
import type { LockInfo, LockKind } from "./protocol.js";
import { LockNotHeldError, LockWaitCancelledError } from "./errors.js";

const log = createDebug("servers:data:locks");

export interface LockRequestRef {
  object: SysName;
  key: string;
  lock: LockKind;
  thread: string;
  permits?: number;
  /** A monitor taken for a compute server's cache (see header). */
  cache?: boolean;
  /** An atomic thread's acquire: `thread` is its atomic id (see header: wound-wait). */
  atomic?: AtomicAge;
}

/** An atomic thread's id and start (kept across its retries): what wound-wait ages it by. */
export type AtomicAge = AtomicContext;

/** An atomic thread that holds a lock someone older (or non-atomic) waits for: abort it. */
export interface Wound {
  object: SysName;
  key: string;
  lock: LockKind;
  atomic: AtomicId;
  /** The compute servers through which it holds the lock (its frames there know its coordinator). */
  servers: string[];
  /** The thread that waits. */
  by: string;
  reason: "an older atomic thread waits for it" | "a non-atomic thread waits for it";
}

/** Whether `a` started before `b` (wound-wait's order). */
/** Which of two atomic threads is older: the earlier start, then the smaller id. */
export function olderThan(a: AtomicAge, b: AtomicAge): boolean {
  return a.since !== b.since ? a.since < b.since : a.id < b.id;
}

/** Someone waits behind a cached monitor: its holder (a cache thread of `server`) should give it up. */
export interface CacheRecall {
  object: SysName;
  key: string;
  server: string;
  cacheThread: string;
  /** The thread waiting. */
  waiter: string;
}

/** What the table has done since the home started (for /metrics). */
export interface LockCounters {
  /** Acquires granted (at once or after waiting). */
  acquires: number;
  /** Acquires that had to queue. */
  waits: number;
  /** Total time granted waiters spent queued (ms). */
  waitMs: number;
  /** Holds given back by `release` (signals included). */
  releases: number;
  /** Holds and waits removed by `dropServer` / `releaseThread`. */
  dropped: number;
  /** Atomic holders wounded (wound-wait). */
  wounds: number;
}

interface Holder {
  thread: string;
  /** monitor/lock: reentrant depth; semaphore: permits held. The sum of `servers`. */
  count: number;
  /** How many of those holds each compute server took (a thread diffuses across servers). */
  servers: Map<string, number>;
  /** An atomic thread's hold (wound-wait). */
  atomic?: AtomicAge;
}

interface Waiter {
  server: string;
  thread: string;
  since: number;
  /** Acquired for a compute server's monitor cache. */
  cached: boolean;
  atomic?: AtomicAge;
  grant(waitedMs: number): void;
  cancel(err: Error): void;
}

/** One lock's state. For a monitor or lock, `permits` is 1 and `available` 0 while held. */
class LockEntry {
  /** thread -> its holds. Keyed by thread ALONE: a thread re-entering through another server is the same holder. */
  readonly holders = new Map<string, Holder>();
  readonly queue: Waiter[] = [];
  available: number;
  /** Holders that are compute servers' cache threads -> their server. */
  readonly caches = new Map<string, string>();
  /** Waiting threads already recalled for, per cache thread (one recall each). */
  readonly recalledFor = new Map<string, Set<string>>();
  /** Atomic holders already wounded (once each). */
  readonly wounded = new Set<string>();
  /** Told when a thread no longer holds the lock (whenMonitorReleased). */
  readonly onGone = new Map<string, (() => void)[]>();

  constructor(readonly object: SysName, readonly key: string, readonly kind: LockKind, readonly permits: number) {
    this.available = permits;
  }

  get reentrant(): boolean {
    return this.kind !== "semaphore";
  }

  /** Nothing held, nobody waiting, and nothing to remember (semaphores keep their count). */
  get idle(): boolean {
    return this.reentrant && this.holders.size === 0 && this.queue.length === 0;
  }

  /** The atomic thread holding this (exclusive) lock, if one does. */
  atomicHolder(): Holder | undefined {
    if (!this.reentrant) return undefined;
    for (const h of this.holders.values()) if (h.atomic) return h;
    return undefined;
  }

  /** Could `thread` be granted now, ignoring the queue in front of it? */
  canTake(thread: string): boolean {
    return (this.reentrant && this.holders.has(thread)) || this.available > 0;
  }

  take(server: string, thread: string, atomic?: AtomicAge): void {
    const holder = this.holders.get(thread);
    if (!(this.reentrant && holder)) this.available--;
    if (holder) {
      holder.count++;
      holder.servers.set(server, (holder.servers.get(server) ?? 0) + 1);
    } else {
      this.holders.set(thread, { thread, count: 1, servers: new Map([[server, 1]]), ...(atomic ? { atomic } : {}) });
    }
  }

  /** Gives back one hold of `thread` taken through `server` (or any, if none was); false: it holds none. */
  giveOne(thread: string, server: string): boolean {
    const holder = this.holders.get(thread);
    if (!holder) return false;
    const via = holder.servers.has(server) ? server : holder.servers.keys().next().value!;
    this.dropCount(holder, via, 1);
    return true;
  }

  /** Gives back every hold taken through a (server, thread) that `match`es; how many. */
  giveWhere(match: (h: { server: string; thread: string }) => boolean): number {
    let n = 0;
    for (const holder of [...this.holders.values()]) {
      for (const [server, count] of [...holder.servers]) {
        if (!match({ server, thread: holder.thread })) continue;
        this.dropCount(holder, server, count);
        n += count;
      }
    }
    return n;
  }

  private dropCount(holder: Holder, server: string, n: number): void {
    const left = (holder.servers.get(server) ?? 0) - n;
    if (left > 0) holder.servers.set(server, left);
    else holder.servers.delete(server);
    holder.count -= n;
    if (!this.reentrant) this.available += n;
    if (holder.count <= 0) {
      this.holders.delete(holder.thread);
      this.caches.delete(holder.thread);
      this.recalledFor.delete(holder.thread);
      this.wounded.delete(holder.thread);
      if (this.reentrant) this.available++;
      const told = this.onGone.get(holder.thread);
      this.onGone.delete(holder.thread);
      for (const tell of told ?? []) tell();
    }
  }

  info(): LockInfo {
    const holders = [...this.holders.values()].flatMap((h) => [...h.servers].map(([server, count]) => ({ server, thread: h.thread, count, ...(h.atomic ? { atomic: true as const } : {}) })));
    return {
      object: this.object, key: this.key, kind: this.kind, available: this.available, holders,
      waiting: this.queue.map((w) => ({ server: w.server, thread: w.thread })),
    };
  }
}

/**
 * Queues a waiter: FIFO, except that an atomic waiter goes ahead of the younger atomic
 * waiters right in front of it (never past a non-atomic one): granted first, the younger
 * would be wounded at once by the older behind it — a grant, a wound and a release for
 * nothing (32 transfers in flight: ten such aborts per commit).
 */
function enqueue(queue: Waiter[], w: Waiter): void {
  let at = queue.length;
  if (w.atomic) while (at > 0 && queue[at - 1].atomic && olderThan(w.atomic, queue[at - 1].atomic!)) at--;
  queue.splice(at, 0, w);
}

function lockKey(kind: LockKind, key: string): string {
  return `${kind}\u0000${key}`;
}

export class LockTable {
  /** object -> (kind, key) -> lock. An object's map is removed when it has no lock left. */
  private readonly objects = new Map<SysName, Map<string, LockEntry>>();
  private readonly stats: LockCounters = { acquires: 0, waits: 0, waitMs: 0, releases: 0, dropped: 0, wounds: 0 };
  /** Called when a waiter queues behind a cached monitor (the DataServer sends the recall). */
  onRecall: (recall: CacheRecall) => void = () => undefined;
  /** Called when an atomic holder must abort (wound-wait, see header: the DataServer tells its servers). */
  onWound: (wound: Wound) => void = () => undefined;

  get counters(): LockCounters {
    return { ...this.stats };
  }

  /** Resolves when granted: at once if free (or reentrant), else in FIFO turn. */
  acquire(req: LockRequestRef, server: ServerId | string): Promise<{ granted: true; waitedMs: number }> {
    const entry = this.entry(req, req.permits ?? 1);
    const who = req.thread;
    const cached = req.cache === true && req.lock === "monitor";
    if ((entry.queue.length === 0 || (entry.reentrant && entry.holders.has(who))) && entry.canTake(who)) {
      this.grant(entry, server, req.thread, cached, req.atomic);
      return Promise.resolve({ granted: true, waitedMs: 0 });
    }
    this.stats.waits++;
    log("%s/%s %s: %s/%s waits behind %d", req.object, req.key, req.lock, server, req.thread, entry.queue.length);
    const granted = new Promise<{ granted: true; waitedMs: number }>((resolve, reject) => {
      enqueue(entry.queue, {
        server, thread: req.thread, since: performance.now(), cached, ...(req.atomic ? { atomic: req.atomic } : {}),
        grant: (waitedMs) => resolve({ granted: true, waitedMs }),
        cancel: reject,
      });
    });
    this.recallCaches(entry);
    this.woundHolders(entry);
    return granted;
  }

  /**
   * What a cache holder answered a recall (compute.lock.recall, unchecked wire data): it
   * released the monitor, converts it to its thread inside it, or gives it back later by its
   * own release. Anything else is ignored (logged): the hold stays until released or dropped.
   */
  recalled(r: CacheRecall, answer: unknown): void {
    const a = (answer ?? {}) as { action?: unknown; thread?: unknown; count?: unknown };
    if (a.action === "released") {
      const entry = this.find(r.object, "monitor", r.key);
      // Released meanwhile by its own message (or dropped): nothing left to do.
      if (entry?.caches.get(r.cacheThread) === r.server) this.release({ object: r.object, key: r.key, lock: "monitor", thread: r.cacheThread }, r.server);
    } else if (a.action === "convert" && typeof a.thread === "string" && Number.isInteger(a.count) && (a.count as number) >= 1) {
      this.convert(r.object, r.key, r.cacheThread, r.server, a.thread, a.count as number);
    } else if (a.action !== "later") {
      log("compute server %s answered a monitor recall with %j: ignored", r.server, answer);
    }
  }

  /**
   * A cached monitor's holder says its thread `thread`, inside it `count` times, is the one
   * waiting through another server: that thread becomes the holder (its holds counted through
   * `server`), and its queued re-entries are granted at once, as a holder's are. False if
   * `cacheThread` does not hold it (any more).
   */
  convert(object: SysName, key: string, cacheThread: string, server: string, thread: string, count: number): boolean {
    const entry = this.find(object, "monitor", key);
    const holder = entry?.holders.get(cacheThread);
    if (!entry || !holder || entry.caches.get(cacheThread) !== server) return false;
    entry.holders.delete(cacheThread);
    entry.caches.delete(cacheThread);
    entry.recalledFor.delete(cacheThread);
    entry.holders.set(thread, { thread, count, servers: new Map([[server, count]]) });
    const now = performance.now();
    for (const w of entry.queue.filter((x) => x.thread === thread)) {
      entry.queue.splice(entry.queue.indexOf(w), 1);
      entry.take(w.server, w.thread);
      this.stats.acquires++;
      w.grant(now - w.since);
    }
    this.recallCaches(entry);
    return true;
  }

  /**
   * Gives back one hold of `req.thread`. `released` is true when the thread held it, false
   * for a semaphore signal (a release by a thread holding no permit, which adds one).
   * Throws LockNotHeldError for a monitor or lock the thread does not hold.
   */
  release(req: LockRequestRef, server: ServerId | string): { released: boolean } {
    const found = this.find(req.object, req.lock, req.key);
    if (found?.giveOne(req.thread, server)) {
      this.afterRelease(found, 1);
      return { released: true };
    }
    if (req.lock !== "semaphore") throw this.notHeld(req, server);
    const entry = found ?? this.entry(req, 0);
    entry.available++;
    this.afterRelease(entry, 1);
    return { released: false };
  }

  list(object: SysName): LockInfo[] {
    return [...(this.objects.get(object)?.values() ?? [])].map((e) => e.info());
  }

  /** Releases everything `server` holds and cancels its waiters (it died). Returns how many. */
  dropServer(server: ServerId | string): number {
    const n = this.dropWhere((h) => h.server === server, `compute server ${server} was dropped`);
    if (n > 0) log("dropped %d holds and waits of %s", n, server);
    return n;
  }

  /**
   * Cancels `server`'s waiters only, keeping what it holds: for when its connection closed
   * but its lease runs on. A grant sent now would be lost with the connection, leaving a
   * hold nobody knows of; the compute server saw its acquire fail and may ask again.
   */
  dropWaiters(server: ServerId | string): number {
    let n = 0;
    for (const entry of this.allEntries()) {
      n += this.cancelWaiters(entry, (w) => w.server === server, `the connection of ${server} closed`);
      this.forgetIfIdle(entry);
    }
    this.stats.dropped += n;
    return n;
  }

  /** Releases everything one thread of `server` holds and cancels its waits (it ended). */
  releaseThread(server: ServerId | string, thread: string): number {
    return this.dropWhere((h) => h.server === server && h.thread === thread, `thread ${thread} ended`);
  }

  // ---- internals -----------------------------------------------------------------

  private dropWhere(match: (h: { server: string; thread: string }) => boolean, reason: string): number {
    let n = 0;
    for (const entry of this.allEntries()) {
      n += this.cancelWaiters(entry, match, reason);
      n += entry.giveWhere(match);
      this.grantWaiters(entry);
      this.forgetIfIdle(entry);
    }
    this.stats.dropped += n;
    return n;
  }

  private cancelWaiters(entry: LockEntry, match: (w: Waiter) => boolean, reason: string): number {
    const gone = entry.queue.filter(match);
    if (gone.length === 0) return 0;
    entry.queue.splice(0, entry.queue.length, ...entry.queue.filter((w) => !match(w)));
    for (const w of gone) w.cancel(this.cancelled(entry, w, reason));
    return gone.length;
  }

  private afterRelease(entry: LockEntry, n: number): void {
    this.stats.releases += n;
    this.grantWaiters(entry);
    this.forgetIfIdle(entry);
  }

  private grant(entry: LockEntry, server: string, thread: string, cached: boolean, atomic?: AtomicAge): void {
    entry.take(server, thread, atomic);
    if (cached) entry.caches.set(thread, server);
    this.stats.acquires++;
  }

  /** Tells each cache holding `entry` of every thread waiting behind it that it was not told of yet. */
  private recallCaches(entry: LockEntry): void {
    for (const [cacheThread, server] of entry.caches) {
      let told = entry.recalledFor.get(cacheThread);
      if (!told) entry.recalledFor.set(cacheThread, (told = new Set()));
      for (const w of entry.queue) {
        if (told.has(w.thread)) continue;
        told.add(w.thread);
        this.onRecall({ object: entry.object, key: entry.key, server, cacheThread, waiter: w.thread });
      }
    }
  }

  /** Grants queue heads in order while the head can take the lock (strict FIFO). */
  private grantWaiters(entry: LockEntry): void {
    const now = performance.now();
    while (entry.queue.length > 0 && entry.canTake(entry.queue[0].thread)) {
      const w = entry.queue.shift()!;
      this.grant(entry, w.server, w.thread, w.cached, w.atomic);
      const waitedMs = now - w.since;
      this.stats.waitMs += waitedMs;
      w.grant(waitedMs);
    }
    // A cache granted with others still queued behind it must hear of them; an atomic holder
    // granted with an older (or a non-atomic) waiter behind it is wounded.
    if (entry.queue.length > 0) {
      this.recallCaches(entry);
      this.woundHolders(entry);
    }
  }

  /** Wound-wait (see header): wounds every atomic holder of `entry` that a waiter must not wait for. */
  private woundHolders(entry: LockEntry): void {
    if (!entry.reentrant) return;
    for (const holder of entry.holders.values()) {
      if (!holder.atomic) continue;
      const by = entry.queue.find((w) => w.thread !== holder.thread && (!w.atomic || olderThan(w.atomic, holder.atomic!)));
      if (by) this.wound(entry, holder, by.thread, by.atomic ? "an older atomic thread waits for it" : "a non-atomic thread waits for it");
    }
  }

  private wound(entry: LockEntry, holder: Holder, by: string, reason: Wound["reason"]): void {
    if (!holder.atomic || entry.wounded.has(holder.thread)) return;
    entry.wounded.add(holder.thread);
    this.stats.wounds++;
    log("%s/%s %s: %s wounds atomic holder %s", entry.object, entry.key, entry.kind, by, holder.thread);
    this.onWound({ object: entry.object, key: entry.key, lock: entry.kind, atomic: holder.atomic.id, servers: [...holder.servers.keys()], by, reason });
  }

  /**
   * The atomic thread holding `object`'s monitor, if one does, and the servers it holds it
   * through: a non-atomic access to the object from elsewhere must not see its writes
   * (DataServer: faults of its pages wait, see PageHome `admit`).
   */
  atomicMonitorHolder(object: SysName): { thread: string; servers: string[] } | undefined {
    const h = this.find(object, "monitor", MONITOR_KEY)?.atomicHolder();
    return h ? { thread: h.thread, servers: [...h.servers.keys()] } : undefined;
  }

  /** Wounds the atomic thread holding `object`'s monitor (a non-atomic access `by` must not wait for it); false if none does. */
  woundMonitorHolder(object: SysName, by: string): boolean {
    const entry = this.find(object, "monitor", MONITOR_KEY);
    const h = entry?.atomicHolder();
    if (!entry || !h) return false;
    this.wound(entry, h, by, "a non-atomic thread waits for it");
    return true;
  }

  /** Resolves once `thread` no longer holds `object`'s monitor (at once if it does not). */
  whenMonitorReleased(object: SysName, thread: string): Promise<void> {
    const entry = this.find(object, "monitor", MONITOR_KEY);
    if (!entry?.holders.has(thread)) return Promise.resolve();
    return new Promise((resolve) => {
      const told = entry.onGone.get(thread) ?? [];
      told.push(resolve);
      entry.onGone.set(thread, told);
    });
  }

  private entry(req: LockRequestRef, permits: number): LockEntry {
    let locks = this.objects.get(req.object);
    if (!locks) this.objects.set(req.object, (locks = new Map()));
    const k = lockKey(req.lock, req.key);
    let entry = locks.get(k);
    if (!entry) locks.set(k, (entry = new LockEntry(req.object, req.key, req.lock, req.lock === "semaphore" ? permits : 1)));
    return entry;
  }

  private find(object: SysName, kind: LockKind, key: string): LockEntry | undefined {
    return this.objects.get(object)?.get(lockKey(kind, key));
  }

  private forgetIfIdle(entry: LockEntry): void {
    if (!entry.idle) return;
    const locks = this.objects.get(entry.object);
    locks?.delete(lockKey(entry.kind, entry.key));
    if (locks?.size === 0) this.objects.delete(entry.object);
  }

  private *allEntries(): Iterable<LockEntry> {
    for (const locks of [...this.objects.values()]) yield* [...locks.values()];
  }

  private notHeld(req: LockRequestRef, server: string): LockNotHeldError {
    return new LockNotHeldError(
      `${req.lock} '${req.key}' of ${req.object} is not held by thread ${req.thread} of ${server}`,
      { object: req.object, key: req.key, lock: req.lock, thread: req.thread, computeServer: server },
    );
  }

  private cancelled(entry: LockEntry, w: Waiter, reason: string): LockWaitCancelledError {
    return new LockWaitCancelledError(
      `wait for ${entry.kind} '${entry.key}' of ${entry.object} cancelled: ${reason}`,
      { object: entry.object, key: entry.key, lock: entry.kind, thread: w.thread, computeServer: w.server, reason },
    );
  }
}
