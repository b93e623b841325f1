/**
 * InMemorySegmentStore: a SegmentStore in Maps, for unit tests of the data server protocol.
 *
 * It behaves as SqliteSegmentStore does (the same suite runs against both): same checks and
 * named errors (segment-checks.ts), same group commit (calls of one tick share a "transaction",
 * counted in stats.transactions), same versions, same copies (records and page bytes are
 * copied in and out, so no caller holds the store's own state). Nothing survives the process;
 * the epoch is 1 unless given.
 *
 * Rule: every write checks everything first, then changes the Maps, with no await in
 * between: that is what makes each call atomic here.
 */
import { asServerId, type AtomicId, type ClassName, type PageNo, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import type { DecisionRecord } from "./atomic-decisions.js";
import { GroupCommit, type CallOutcome } from "./group-commit.js";
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
  private readonly groupCommit: GroupCommit;
  /** Atomic threads' decisions, by id (AtomicDecisions). */
  private readonly decisions = new Map<AtomicId, DecisionRecord>();
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

  readPage(segment: SysName, page: PageNo): StoredPage {
    this.assertOpen();
    const seg = this.segments.get(segment);
    if (!seg) throw segmentNotFound(segment);
    checkPageNo(segment, page, seg.maxPages);
    const stored = this.pages.get(segment)?.get(page);
    return stored ? { bytes: new Uint8Array(stored.bytes), version: stored.version } : { bytes: null, version: 0 };
  }

  commitPages(writes: PageWrite[], decision?: DecisionRecord): Promise<number[]> {
    if (decision) return this.commitPages(writes).then((versions) => {
      if (!this.decisions.has(decision.id)) this.decisions.set(decision.id, { ...decision });
      return versions;
    });
    return submitCommit(writes, { assertOpen: () => this.assertOpen(), stats: this.stats, groupCommit: this.groupCommit });
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

  /** Stored unless the id has a decision (the first stands); resolves, in a later turn, with the one stored. */
  async putDecision(record: DecisionRecord): Promise<DecisionRecord> {
    this.assertOpen();
    await Promise.resolve(); // like a store's transaction: never answered in the caller's turn
    if (!this.decisions.has(record.id)) this.decisions.set(record.id, { ...record });
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
  private executeBatch(batch: readonly (readonly PageWrite[])[]): CallOutcome[] {
    const maxPagesOf = (s: SysName) => this.segments.get(s)?.maxPages ?? null;
    const outcomes = batch.map((writes): CallOutcome => {
      try {
        checkWriteTargets(writes, maxPagesOf);
      } catch (error) {
        return { ok: false, error };
      }
      return { ok: true, versions: writes.map((w) => this.storePage(w)) };
    });
    this.stats.transactions++;
    for (const outcome of outcomes) if (outcome.ok) this.stats.pagesWritten += outcome.versions.length;
    return outcomes;
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
