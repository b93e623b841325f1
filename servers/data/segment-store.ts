/**
 * SegmentStore: the data server's durable store, as a contract.
 *
 * It holds what a data server owns (DESIGN §2, §4, §7): segments and their 4 KiB pages,
 * object descriptors (which segments make up an object's O space) and registered classes
 * (their code and entry points). Implementations: SqliteSegmentStore (TypeORM over
 * better-sqlite3, WAL, group commit) and InMemorySegmentStore (unit tests of the data server
 * protocol). Both pass the same behaviour suite (test/support/segment-store-suite.ts).
 *
 * Rules:
 * - readPage is synchronous: it runs on the data server's event loop thread, in the DSM
 *   request path, and must stay one indexed lookup. It returns a copy the caller may keep.
 * - commitPages is atomic per call: all of its pages are stored or none. Calls that arrive
 *   while a commit is pending share one transaction (one fsync): group commit. When its
 *   promise resolves the pages are durable (to the store's durability level).
 * - commitPages copies the bytes when it is called: the caller may reuse its buffers (a page
 *   frame) as soon as the call returns, before the promise settles.
 * - A page never written reads as `{ bytes: null, version: 0 }` (zeros); each commit of a
 *   page increments its version by one.
 * - Expected outcomes are values (null, false); bad input throws the named errors of
 *   errors.ts (SegmentNotFoundError, PageOutOfRangeError, BadPageSizeError).
 * - `epoch` counts opens of the durable state: a restarted data server has a larger epoch,
 *   and compute servers drop the pages they cached from the old one (DESIGN §7).
 */
import type { AtomicId, ClassName, PageNo, SegmentRole, ServerId, SysName } from "../../ra-kernel/ids.js";
import type { ClassSegment, ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import type { DecisionRecord, DecisionStore } from "./atomic-decisions.js";

/** One segment: a paged memory resource, part of an object (or a class's code). */
export interface SegmentRecord {
  sysname: SysName;
  /** The object whose O space maps it; null for segments that belong to no object. */
  object: SysName | null;
  role: SegmentRole;
  /** Pages are numbered 0 .. maxPages-1. */
  maxPages: number;
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
}

/**
 * An object's descriptor (its class and the segments of its O space) and one registered
 * version of a class (its code and entry signatures) are the kernel's own types
 * (ra-kernel/object-descriptor.ts): the store keeps them as given. (name, version) of a
 * class is unique; `entries` is stored as JSON and comes back as it went in.
 */
export type { ObjectDescriptor };
export type ClassRecord = ClassSegment;

/** A page as stored. `bytes` null: never written (reads as zeros), version 0. */
export interface StoredPage {
  bytes: Uint8Array | null;
  version: number;
}

/** One page to commit. `bytes.length` must be PAGE_SIZE. */
export interface PageWrite {
  segment: SysName;
  page: PageNo;
  bytes: Uint8Array;
}

/** Counters, for tests, /metrics and benchmarks. Monotonic while the store is open. */
export interface StoreStats {
  /** commitPages calls that were accepted into a batch. */
  commitCalls: number;
  /** Page-commit transactions run (one per group-commit batch). */
  transactions: number;
  /** Pages stored by committed transactions. */
  pagesWritten: number;
}

/** One page of a prepared atomic thread: its PageLog as the writer sent it (never the page). */
export interface PreparedPage {
  segment: SysName;
  page: PageNo;
  /** An encoded PageLog (ra-kernel/page-log.ts). */
  log: Uint8Array;
  /** The writer's stamp of the page when it sent it (PageCommitMsg.stamp), if it gave one. */
  stamp?: number;
}

/**
 * An atomic thread's part at this home, prepared for two-phase commit (AtomicParticipants):
 * durable until the thread is decided here — applied with its pages (commitPages `finished`)
 * or forgotten (forgetPrepared). One per id: a later prepare of the id replaces it.
 */
export interface PreparedRecord {
  id: AtomicId;
  /** The attempt prepared (DecisionRecord.attempt). */
  attempt: number;
  /** The compute server that sent it (the thread's coordinator). */
  writer: string;
  /** The data server keeping the thread's decision. */
  logHome: ServerId;
  pages: PreparedPage[];
  /** ms since the Unix epoch. */
  preparedAt: number;
}

/**
 * A store also keeps the decisions of atomic threads whose log home it is (AtomicDecisions),
 * and the parts of atomic threads prepared here (AtomicParticipants).
 */
export interface SegmentStore extends DecisionStore {
  /** Incremented and persisted at every open (a restart bumps it). */
  readonly epoch: number;
  /** The data server this store belongs to. */
  readonly serverId: ServerId;
  readonly stats: Readonly<StoreStats>;

  /**
   * Stores a descriptor and its segments in one transaction; rejects if it exists. `segments`
   * are the descriptor's data and heap segments, and its volatile one only if it is to have a
   * row (DataServer gives none: volatile pages never reach their home, see checkObjectSegments).
   */
  createObject(desc: ObjectDescriptor, segments: SegmentRecord[]): Promise<void>;
  getObject(sysname: SysName): ObjectDescriptor | null;
  /**
   * Raises the object's class version to `classVersion` (a versioned upgrade); never lowers
   * it. The descriptor as stored afterwards, or null if there is no such object.
   */
  upgradeObject(sysname: SysName, classVersion: number): Promise<ObjectDescriptor | null>;
  listObjects(): ObjectDescriptor[];
  /** How many objects are stored: kept as a count, never by listing them (status, /metrics). */
  countObjects(): number;
  /** Removes the descriptor, its segments and their pages in one transaction; false if absent. */
  deleteObject(sysname: SysName): Promise<boolean>;
  getSegment(sysname: SysName): SegmentRecord | null;
  /** The pages the segment may have, those stored (ever written) and their bytes; null if there is no such segment. */
  segmentSize(sysname: SysName): { maxPages: number; pages: number; bytes: number } | null;

  /** Synchronous (hot path). Throws SegmentNotFoundError / PageOutOfRangeError. */
  readPage(segment: SysName, page: PageNo): StoredPage;
  /**
   * Atomic: all pages or none. Resolves with each page's new version, in order. `decision`:
   * an atomic thread's, stored in the same transaction by putDecision's rule (AtomicDecisions).
   * `finished`: the id of a prepared record deleted in the same transaction (its pages are
   * these writes: a restart never applies them twice).
   */
  commitPages(writes: PageWrite[], decision?: DecisionRecord, finished?: AtomicId): Promise<number[]>;

  /** Stores (or replaces) a prepared record; resolves once durable (it shares the group commit's fsync). */
  putPrepared(record: PreparedRecord): Promise<void>;
  /** Deletes the prepared record of `id` (its thread aborted); resolves once durable; false if there was none. */
  forgetPrepared(id: AtomicId): Promise<boolean>;
  /** Every prepared record, oldest first (synchronous: read at start-up to resolve them). */
  listPrepared(): PreparedRecord[];

  /** Registers one class version; rejects if that (name, version) is already registered. */
  putClass(rec: ClassRecord): Promise<void>;
  /** The given version, or the latest when `version` is omitted; null if none. */
  getClass(name: ClassName, version?: number): ClassRecord | null;
  /** The latest version of each class, by name. */
  listClasses(): ClassRecord[];

  /** Waits for pending commits, then closes. Later calls throw. */
  close(): Promise<void>;
}
