/**
 * HomeLink: how a compute server's DSM client (ra-kernel/dsm-client.ts) reaches the homes
 * of its segments, and the messages that cross it — the contract; servers/compute/data-homes.ts
 * implements it over the data protocol, test/support/*-home-link.ts in memory.
 *
 *   fault   a page brought in for reading or writing: a Grant (bytes, version, stamp, the
 *           home's epoch and our lease term there; for a write run, the following pages too)
 *   commit  one commit segment's PageLogs for that home, applied all together or not at all
 *   release a page this server evicts from its cache: an owner gives its bytes back, as it
 *           would to a recall (it holds no writes not committed yet); a reader just leaves
 *           the copyset. `released: false`: the home did not take it (the page moved on,
 *           or is being reverted): keep it as it is
 *   drop    read copies this server evicted (batched, see DropNotices): the home may forget
 *           pages no one caches
 *   prepare, finish, decide, acknowledge
 *           two-phase commit of an atomic thread over several homes (two-phase-commit.ts)
 * and, the other way (compute.recall), a home's RecallRequest and our RecallReply.
 */
import type { AtomicId, PageNo, ServerId, SysName } from "./ids.js";
import type { AccessMode } from "./page-state.js";

/** A home's answer to a fault (see data.page.fault). */
export interface Grant {
  bytes: Uint8Array | null;
  same: boolean;
  version: number;
  /** The page's write stamp: our writes are stamped above it (PageLog). */
  stamp: number;
  epoch: number;
  /** Our lease term at the home. */
  term: number;
  /** The following pages, also granted writable (asked with count > 1). */
  extra?: { page: PageNo; version: number; stamp: number; bytes: Uint8Array | null }[];
}

/** A page of a new object granted writable to its creator (see data.object.create). */
export interface CreationGrant {
  segment: SysName;
  page: PageNo;
  version: number;
}

/** One page of a commit segment (data.page.commit): its PageLog, and our other writers of it. */
export interface PageCommit {
  segment: SysName;
  page: PageNo;
  log: Uint8Array;
  left: number;
  /** The page's write stamp here when the commit was sent: a later recall saying "dirty" is newer. */
  stamp: number;
}

export interface CommitRequest {
  epoch: number;
  term: number;
  abort: boolean;
  /** Our count of refused commits of the pages' object at this home, as it last told us (`refused`). */
  seen?: number;
  pages: PageCommit[];
  /**
   * Locks of the committing invocation to release at this home once the commit is done
   * (applied or refused): an exclusive entry's monitor rides with its last commit instead of
   * taking a round trip of its own.
   */
  release?: LockRelease[];
  /**
   * The segment is this atomic thread whole (one home), or its log home's part (`twoPhase`:
   * the other homes prepared theirs): its decision is stored with it, as attempt `attempt`.
   */
  atomic?: AtomicId;
  attempt?: number;
  twoPhase?: true;
}

/** A home's part of an atomic thread, prepared for two-phase commit (data.atomic.prepare). */
export interface PrepareRequest {
  /** The attempt's id (attemptId): one part per attempt. */
  id: AtomicId;
  attempt: number;
  /** The home keeping the thread's decision. */
  logHome: ServerId;
  epoch: number;
  term: number;
  seen?: number;
  pages: PageCommit[];
}

export interface PrepareReply {
  prepared: boolean;
  epoch: number;
  reason?: string;
  refused?: number;
}

/** The decision a log home keeps for an atomic thread (data.atomic.decide; only what we read of it). */
export interface DecisionReply {
  outcome: "commit" | "abort";
  attempt: number;
}

/** A lock hold to give back at its home (as data.lock.release names it). */
export interface LockRelease {
  object: SysName;
  key: string;
  lock: "monitor" | "lock" | "semaphore";
  thread: string;
}

/** A home's answer to a commit: applied (durable), or not at all. */
export interface CommitReply {
  applied: boolean;
  epoch: number;
  reason?: string;
  /** On a refusal: the home's count of our refused commits of the object this term (`seen`). */
  refused?: number;
}

/** A page given back by an evicting compute server (data.page.release). */
export interface ReleaseRequest {
  epoch: number;
  segment: SysName;
  page: PageNo;
  /** The version of our copy. */
  version: number;
  /** An owner's bytes (null: a read copy). */
  bytes: Uint8Array | null;
  stamp: number;
}

/** Read copies evicted here (data.page.drop). */
export interface DropRequest {
  epoch: number;
  pages: { segment: SysName; page: PageNo; version: number }[];
}

/** Threads a fault names, at most (a worker runs a few isibas; more are left out of traces). */
export const MAX_FAULT_THREADS = 8;

/** How the DSM client reaches a segment's home. */
export interface HomeLink {
  /**
   * `count` > 1: a write fault asking for the following pages too (see the header); `threads`:
   * whose fault it is (the home traces what it cost them), at most MAX_FAULT_THREADS.
   */
  fault(home: ServerId, segment: SysName, page: PageNo, mode: AccessMode, have: number, count?: number, threads?: string[]): Promise<Grant>;
  /**
   * `sent`, if given, is called once the request is on its way to the home, ordered after
   * every commit sent before (early lock release waits for it); never called if it is not sent.
   */
  commit(home: ServerId, req: CommitRequest, sent?: () => void): Promise<CommitReply>;
  release(home: ServerId, req: ReleaseRequest): Promise<{ released: boolean }>;
  drop(home: ServerId, req: DropRequest): Promise<{ dropped: number }>;
  /**
   * Two-phase commit of atomic threads whose writes span several homes (see
   * ra-kernel/two-phase-commit.ts); a link without them commits such threads nowhere.
   */
  prepare?(home: ServerId, req: PrepareRequest): Promise<PrepareReply>;
  finish?(home: ServerId, req: { id: AtomicId; outcome: "commit" | "abort"; release?: LockRelease[] }): Promise<{ finished: boolean; refused?: number }>;
  /** Proposes `outcome` for attempt `attempt` of thread `id` at its log home: the decision stored there. */
  decide?(home: ServerId, req: { id: AtomicId; outcome: "commit" | "abort"; attempt: number }): Promise<DecisionReply>;
  acknowledge?(home: ServerId, id: AtomicId): Promise<void>;
}

export interface RecallRequest {
  segment: SysName;
  page: PageNo;
  version: number;
  epoch: number;
  action: "invalidate" | "downgrade" | "revert" | "refresh";
  /** A refresh: the version the holder had (or has a grant of on its way), before `version`. */
  current?: number;
}

/** What a holder answers to a recall. */
export interface RecallReply {
  held: boolean;
  bytes: Uint8Array | null;
  stamp: number;
  dirty: boolean;
  /** Answering a revert that doomed segments here: the other pages of that object they may have written. */
  lost?: { segment: SysName; page: PageNo }[];
}
