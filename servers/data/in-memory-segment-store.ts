/**
 * InMemorySegmentStore: a SegmentStore in Maps, for unit tests of the data server protocol.
 *
 * It behaves as SqliteSegmentStore does (the same suite runs against both): same checks and
 * named errors (segment-checks.ts), same group commit (calls of one tick share a "transaction",
 * counted in stats.transactions; page commits with their decision and finished prepared record,
 * and prepared records, go through it), same versions, same copies (records and page bytes are
 * copied in and out, so no caller holds the store's own state; prepared pages are kept encoded
 * by prepared-record-codec.ts, as SQLite keeps them). Nothing survives the process; the epoch
 * is 1 unless given.
 *
 * Rule: every write checks everything first, then changes the Maps, with no await in
 * between: that is what makes each call atomic here.
 */
import { asServerId, type AtomicId, type ClassName, type PageNo, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import { supersedes, type DecisionRecord } from "./atomic-decisions.js";
import { GroupCommit, type CallOutcome } from "./group-commit.js";
import { decodePreparedPages, encodePreparedPages } from "./prepared-record-codec.js";
import {
  checkObjectSegments,
  checkPageNo,
  checkWriteTargets,
  submitCommit,
  segmentNotFound,
} from "./segment-checks.js";
import type {
  ClassRecord,
  ObjectDescriptor,
  PageWrite,
  PreparedRecord,
  SegmentRecord,
  SegmentStore,
  StoredPage,
  StoreStats,
} from "./segment-store.js";
import { DEFAULT_GROUP_COMMIT_MAX_WAIT_MS, type SegmentStoreOptions } from "./store-options.js";

export interface InMemorySegmentStoreOptions extends Partial<Pick<SegmentStoreOptions, "serverId" | "groupCommitMaxWaitMs">> {
  /** Simulates a store reopened this many times. @default 1 */
  epoch?: number;
}

interface MemoryPage {
  bytes: Uint8Array;
  version: number;
}

/** A prepared record as kept: its pages encoded (a copy, and the same refusals as SQLite). */
type MemoryPrepared = Omit<PreparedRecord, "pages"> & { pages: Buffer };

/** One call of a group commit, as SqliteSegmentStore's (less the kinds this store writes at once). */
type MemoryCall =
  | { kind: "pages"; writes: readonly PageWrite[]; decision?: DecisionRecord; finished?: AtomicId }
  | { kind: "prepared"; record: MemoryPrepared }
  | { kind: "forget"; id: AtomicId; /** Set by the batch: whether a record went. */ found: boolean };

export class InMemorySegmentStore implements SegmentStore {
  readonly epoch: number;
  readonly serverId: ServerId;
  readonly stats: StoreStats = { commitCalls: 0, transactions: 0, pagesWritten: 0 };
  private readonly objects = new Map<SysName, ObjectDescriptor>();
  private readonly segments = new Map<SysName, SegmentRecord>();
  /** segment -> page number -> page. */
  private readonly pages = new Map<SysName, Map<PageNo, MemoryPage>>();
  /** class name -> version -> record. */
  private readonly classes = new Map<ClassName, Map<number, ClassRecord>>();
  private readonly groupCommit: GroupCommit<MemoryCall>;
  /** Atomic threads' decisions, by id (AtomicDecisions). */
  private readonly decisions = new Map<AtomicId, DecisionRecord>();
  /** Atomic threads prepared here, by id (AtomicParticipants). */
  private readonly prepared = new Map<AtomicId, MemoryPrepared>();
  private closed = false;

  constructor(options: InMemorySegmentStoreOptions = {}) {
    this.epoch = options.epoch ?? 1;
    this.serverId = options.serverId ?? asServerId("ds1");
    const maxWait = options.groupCommitMaxWaitMs ?? DEFAULT_GROUP_COMMIT_MAX_WAIT_MS;
    this.groupCommit = new GroupCommit((batch) => this.executeBatch(batch), maxWait);
  }

  // ---- objects and segments -------------------------------------------------------------

  async createObject(desc: ObjectDescriptor, segments: SegmentRecord[]): Promise<void> {
    this.assertOpen();
    checkObjectSegments(desc, segments);
    if (this.objects.has(desc.sysname)) throw new Error(`object ${desc.sysname} already exists`);
    for (const seg of segments) {
      if (this.segments.has(seg.sysname)) throw new Error(`segment ${seg.sysname} already exists`);
    }
    for (const seg of segments) this.segments.set(seg.sysname, structuredClone(seg));
    this.objects.set(desc.sysname, structuredClone(desc));
  }

  getObject(sysname: SysName): ObjectDescriptor | null {
    this.assertOpen();
    const desc = this.objects.get(sysname);
    return desc ? structuredClone(desc) : null;
  }

  async upgradeObject(sysname: SysName, classVersion: number): Promise<ObjectDescriptor | null> {
    this.assertOpen();
    const desc = this.objects.get(sysname);
    if (!desc) return null;
    desc.classVersion = Math.max(desc.classVersion, classVersion);
    return structuredClone(desc);
  }

  listObjects(): ObjectDescriptor[] {
    this.assertOpen();
    return [...this.objects.values()]
      .sort((a, b) => a.createdAt - b.createdAt || compare(a.sysname, b.sysname))
      .map((d) => structuredClone(d));
  }

  countObjects(): number {
    this.assertOpen();
    return this.objects.size;
  }

  async deleteObject(sysname: SysName): Promise<boolean> {
    this.assertOpen();
    if (!this.objects.delete(sysname)) return false;
    for (const seg of [...this.segments.values()]) {
      if (seg.object !== sysname) continue;
      this.segments.delete(seg.sysname);
      this.pages.delete(seg.sysname);
    }
    return true;
  }

  getSegment(sysname: SysName): SegmentRecord | null {
    this.assertOpen();
    const seg = this.segments.get(sysname);
    return seg ? structuredClone(seg) : null;
  }

  // ---- pages ----------------------------------------------------------------------------

  segmentSize(sysname: SysName): { maxPages: number; pages: number; bytes: number } | null {
    this.assertOpen();
    const seg = this.segments.get(sysname);
    if (!seg) return null;
    const pages = [...(this.pages.get(sysname)?.values() ?? [])];
    return { maxPages: seg.maxPages, pages: pages.length, bytes: pages.reduce((n, p) => n + p.bytes.length, 0) };
  }

  readPage(segment: SysName, page: PageNo): StoredPage {
    this.assertOpen();
    const seg = this.segments.get(segment);
    if (!seg) throw segmentNotFound(segment);
    checkPageNo(segment, page, seg.maxPages);
    const stored = this.pages.get(segment)?.get(page);
    return stored ? { bytes: new Uint8Array(stored.bytes), version: stored.version } : { bytes: null, version: 0 };
  }

  /** With no writes but a decision or a prepared record to finish, still one call of a group commit (as SQLite). */
  commitPages(writes: PageWrite[], decision?: DecisionRecord, finished?: AtomicId): Promise<number[]> {
    const call = { ...(decision ? { decision: { ...decision } } : {}), ...(finished !== undefined ? { finished } : {}) };
    const groupCommit = { submit: (copies: readonly PageWrite[]) => this.groupCommit.submit({ kind: "pages", writes: copies, ...call }) };
    if (writes.length > 0 || (!decision && finished === undefined)) {
      return submitCommit(writes, { assertOpen: () => this.assertOpen(), stats: this.stats, groupCommit });
    }
    try {
      this.assertOpen();
      this.stats.commitCalls++;
      return groupCommit.submit([]);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // ---- classes --------------------------------------------------------------------------

  async putClass(rec: ClassRecord): Promise<void> {
    this.assertOpen();
    const versions = this.classes.get(rec.name) ?? new Map<number, ClassRecord>();
    if (versions.has(rec.version)) throw new Error(`class ${rec.name} version ${rec.version} is already registered`);
    versions.set(rec.version, structuredClone(rec));
    this.classes.set(rec.name, versions);
  }

  getClass(name: ClassName, version?: number): ClassRecord | null {
    this.assertOpen();
    const versions = this.classes.get(name);
    if (!versions) return null;
    const rec = versions.get(version ?? Math.max(...versions.keys()));
    return rec ? structuredClone(rec) : null;
  }

  listClasses(): ClassRecord[] {
    this.assertOpen();
    return [...this.classes.keys()].sort(compare).map((name) => this.getClass(name)!);
  }

  // ---- atomic threads' decisions (AtomicDecisions) ---------------------------------------

  /** Stored unless the id has one it does not supersede; resolves, in a later turn, with the one stored. */
  async putDecision(record: DecisionRecord): Promise<DecisionRecord> {
    this.assertOpen();
    await Promise.resolve(); // like a store's transaction: never answered in the caller's turn
    this.keepDecision(record);
    return { ...this.decisions.get(record.id)! };
  }

  getDecision(id: AtomicId): DecisionRecord | null {
    this.assertOpen();
    const r = this.decisions.get(id);
    return r ? { ...r } : null;
  }

  async acknowledgeDecision(id: AtomicId): Promise<boolean> {
    this.assertOpen();
    const r = this.decisions.get(id);
    if (r) r.acknowledged = true;
    return r !== undefined;
  }

  async forgetDecisions(before: number): Promise<number> {
    this.assertOpen();
    let gone = 0;
    for (const [id, r] of this.decisions) if (r.acknowledged && r.decidedAt < before && this.decisions.delete(id)) gone++;
    return gone;
  }

  // ---- atomic threads prepared here (AtomicParticipants) -----------------------------------

  /** Stored (replacing the id's) in the next group commit; the pages are encoded, so copied, now. */
  async putPrepared(record: PreparedRecord): Promise<void> {
    this.assertOpen();
    const { pages, ...rest } = record;
    await this.groupCommit.submit({ kind: "prepared", record: { ...rest, pages: encodePreparedPages(pages) } });
  }

  async forgetPrepared(id: AtomicId): Promise<boolean> {
    this.assertOpen();
    const call: MemoryCall = { kind: "forget", id, found: false };
    await this.groupCommit.submit(call);
    return call.found;
  }

  listPrepared(): PreparedRecord[] {
    this.assertOpen();
    return [...this.prepared.values()]
      .sort((a, b) => a.preparedAt - b.preparedAt || compare(a.id, b.id))
      .map((r) => ({ ...r, pages: decodePreparedPages(r.pages) }));
  }

  // ---- lifecycle ------------------------------------------------------------------------

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.groupCommit.drain();
  }

  // ---- internals ------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error("InMemorySegmentStore is closed");
  }

  /** One "transaction" for the batch: each call checked whole, then stored whole. */
  private executeBatch(batch: readonly MemoryCall[]): CallOutcome[] {
    const outcomes = batch.map((call): CallOutcome => {
      switch (call.kind) {
        case "prepared":
          this.prepared.set(call.record.id, call.record);
          return { ok: true, versions: [] };
        case "forget":
          call.found = this.prepared.delete(call.id);
          return { ok: true, versions: [] };
        case "pages": return this.writePages(call);
      }
    });
    this.stats.transactions++;
    for (const outcome of outcomes) if (outcome.ok) this.stats.pagesWritten += outcome.versions.length;
    return outcomes;
  }

  /** A commitPages call's pages, then its decision and finished record; or nothing if refused. */
  private writePages(call: Extract<MemoryCall, { kind: "pages" }>): CallOutcome {
    try {
      checkWriteTargets(call.writes, (s) => this.segments.get(s)?.maxPages ?? null);
    } catch (error) {
      return { ok: false, error };
    }
    const versions = call.writes.map((w) => this.storePage(w));
    if (call.decision) this.keepDecision(call.decision);
    if (call.finished !== undefined) this.prepared.delete(call.finished);
    return { ok: true, versions };
  }

  /** The decision, unless its id has one it does not supersede (putDecision's rule). */
  private keepDecision(record: DecisionRecord): void {
    const stored = this.decisions.get(record.id);
    if (!stored || supersedes(record, stored)) this.decisions.set(record.id, { ...record });
  }

  private storePage(write: PageWrite): number {
    let segmentPages = this.pages.get(write.segment);
    if (!segmentPages) this.pages.set(write.segment, (segmentPages = new Map()));
    const version = (segmentPages.get(write.page)?.version ?? 0) + 1;
    segmentPages.set(write.page, { bytes: write.bytes, version });
    return version;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
