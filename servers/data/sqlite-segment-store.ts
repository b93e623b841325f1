/**
 * SqliteSegmentStore: the data server's durable SegmentStore, in one SQLite file.
 *
 * TypeORM 1.x (driver "better-sqlite3") opens the file, creates the schema from entities/
 * (synchronize) and runs the rarely used writes (objects, classes, the epoch) as entity
 * transactions. The DSM hot path uses prepared statements (sqlite-statements.ts) on the SAME
 * connection: one file, one connection, one writer at a time.
 *
 * Durability (DESIGN §7): WAL always; synchronous=FULL for "power" (the default: a resolved
 * commit survives a power loss), NORMAL for "process" (it survives a process crash only).
 * Group commit (group-commit.ts) gives concurrent commitPages calls one transaction, so one
 * fsync, and resolves them only after it committed. New objects (createObject: their segment
 * and object rows), atomic threads' decisions and prepared records (putPrepared,
 * forgetPrepared) join the same batches, so they share that fsync too.
 *
 * Disk: a page never written has no row; a written one is stored as page-codec.ts lays it out
 * (zeros cost nothing, old whole-page rows still load). Tables are WITHOUT ROWID in stores
 * created since (older ones keep theirs). A Rectangle, created and invoked once, costs about
 * 700 bytes: its three segment rows ~300, its object row ~190, its two pages ~190.
 *
 * Rules:
 * - readPage is synchronous: it runs on the data server's event loop thread and must stay a
 *   single indexed SELECT (segment and page, one LEFT JOIN on primary keys).
 * - Every write transaction, TypeORM's or the page batches', runs through the WriteLane: a
 *   TypeORM transaction spans awaits, and a page batch run inside it would be nested in it.
 * - Synchronous reads (getObject, readPage...) may run while a TypeORM transaction of
 *   createObject/deleteObject/putClass is open between two awaits; they then see its rows
 *   (one connection: read-your-own-writes). Page commits never interleave with it.
 */
import "reflect-metadata";
import createDebug from "debug";
import type BetterSqlite3 from "better-sqlite3";
import { DataSource, In, type EntityManager } from "typeorm";
import { CloudsError } from "../../ra-kernel/clouds-error.js";
import type { AtomicId, ClassName, PageNo, ServerId, SysName } from "../../ra-kernel/ids.js";
import type { DecisionRecord } from "./atomic-decisions.js";
import { AtomicDecisionEntity, decisionRecordOf } from "./entities/atomic-decision-entity.js";
import { AtomicPreparedEntity, preparedRecordOf } from "./entities/atomic-prepared-entity.js";
import { classEntityOf, classRecordOf, ClassEntity } from "./entities/class-entity.js";
import { objectDescriptorOf, ObjectEntity } from "./entities/object-entity.js";
import { PageEntity } from "./entities/page-entity.js";
import { decodePage, encodePage } from "./page-codec.js";
import { segmentRecordOf, SegmentEntity } from "./entities/segment-entity.js";
import { STORE_STATE_ID, StoreStateEntity } from "./entities/store-state-entity.js";
import { GroupCommit, type CallOutcome } from "./group-commit.js";
import { encodePreparedPages } from "./prepared-record-codec.js";
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
import { SqliteStatements } from "./sqlite-statements.js";
import {
  DEFAULT_DURABILITY,
  DEFAULT_GROUP_COMMIT_MAX_WAIT_MS,
  type Durability,
  type SegmentStoreOptions,
} from "./store-options.js";
import { WriteLane } from "./write-lane.js";

const debug = createDebug("servers:data:store");

/**
 * One call of a group commit: a commitPages call's writes (with the decision and the prepared
 * record it finishes, if any), a new object's rows, an atomic thread's decision, a prepared
 * record (its pages already encoded: copied at the call), or the deletion of one.
 */
type StoreCall =
  | { kind: "pages"; writes: readonly PageWrite[]; decision?: DecisionRecord; finished?: AtomicId }
  | { kind: "object"; desc: ObjectDescriptor; segments: readonly SegmentRecord[] }
  | { kind: "decision"; record: DecisionRecord }
  | { kind: "prepared"; record: Omit<PreparedRecord, "pages">; pages: Buffer }
  | { kind: "forget"; id: AtomicId; /** Set inside the transaction: whether a row went. */ found: boolean };

/** How long a statement waits for a lock held by another connection (ms). */
const BUSY_TIMEOUT_MS = 5000;

const ENTITIES = [SegmentEntity, PageEntity, ObjectEntity, ClassEntity, StoreStateEntity, AtomicDecisionEntity, AtomicPreparedEntity];

/** `PRAGMA synchronous` value for each durability level. */
const SYNCHRONOUS: Record<Durability, "FULL" | "NORMAL"> = { power: "FULL", process: "NORMAL" };

/** What `PRAGMA journal_mode / synchronous / busy_timeout` report on the store's connection. */
export interface SqliteSettings {
  /** "wal". */
  journalMode: string;
  /** 2 (FULL) for durability "power", 1 (NORMAL) for "process". */
  synchronous: number;
  busyTimeoutMs: number;
}

export class SqliteSegmentStore implements SegmentStore {
  readonly stats: StoreStats = { commitCalls: 0, transactions: 0, pagesWritten: 0 };
  private readonly lane = new WriteLane();
  /** createObject calls not committed yet: entity writers called after them wait for them (call order). */
  private readonly creating = new Set<Promise<void>>();
  private readonly sql: SqliteStatements;
  private readonly groupCommit: GroupCommit<StoreCall>;
  /** Runs one batch of calls as one IMMEDIATE transaction. */
  private readonly pageTransaction: (batch: readonly StoreCall[]) => CallOutcome[];
  /** Objects stored: counted once at open, then changed by the commits that create or delete them. */
  private objectCount: number;
  private closed = false;

  private constructor(
    private readonly dataSource: DataSource,
    private readonly db: BetterSqlite3.Database,
    readonly epoch: number,
    readonly serverId: ServerId,
    /** What a resolved commitPages survives (see store-options.ts). */
    readonly durability: Durability,
    groupCommitMaxWaitMs: number,
  ) {
    this.sql = new SqliteStatements(db);
    this.objectCount = (this.sql.countObjects.get() as { n: number }).n;
    this.pageTransaction = db.transaction((batch: readonly StoreCall[]) =>
      this.writeBatch(batch),
    ).immediate;
    this.groupCommit = new GroupCommit(
      (batch) => this.executeBatch(batch),
      groupCommitMaxWaitMs,
      (fn) => this.lane.run(fn),
    );
  }

  /** Opens (creating if needed) the store file, synchronizes the schema and bumps the epoch. */
  static async open(options: SegmentStoreOptions): Promise<SqliteSegmentStore> {
    const durability = options.durability ?? DEFAULT_DURABILITY;
    const dataSource = new DataSource({
      type: "better-sqlite3",
      database: options.file,
      entities: ENTITIES,
      synchronize: true,
      prepareDatabase: (db: BetterSqlite3.Database) => applyPragmas(db, durability),
    });
    await dataSource.initialize();
    try {
      const db = connectionOf(dataSource);
      checkJournalMode(db, options.file);
      const epoch = await dataSource.transaction((m) => bumpEpoch(m, options.serverId));
      debug("opened %s: epoch %d, durability %s", options.file, epoch, durability);
      const maxWait = options.groupCommitMaxWaitMs ?? DEFAULT_GROUP_COMMIT_MAX_WAIT_MS;
      return new SqliteSegmentStore(dataSource, db, epoch, options.serverId, durability, maxWait);
    } catch (error) {
      await dataSource.destroy();
      throw error;
    }
  }

  // ---- objects and segments (TypeORM) ---------------------------------------------------

  /** Stores the object's rows in the next group commit: resolves once they are durable. */
  async createObject(desc: ObjectDescriptor, segments: SegmentRecord[]): Promise<void> {
    this.assertOpen();
    checkObjectSegments(desc, segments);
    const stored = this.groupCommit.submit({ kind: "object", desc, segments: segments.map((s) => ({ ...s })) }).then(() => undefined);
    this.creating.add(stored);
    void stored.catch(() => undefined).finally(() => this.creating.delete(stored));
    await stored;
    debug("created object %s (%s v%d)", desc.sysname, desc.className, desc.classVersion);
  }

  getObject(sysname: SysName): ObjectDescriptor | null {
    this.assertOpen();
    const row = this.sql.getObject.get(sysname) as ObjectEntity | undefined;
    return row ? objectDescriptorOf(row) : null;
  }

  async upgradeObject(sysname: SysName, classVersion: number): Promise<ObjectDescriptor | null> {
    this.assertOpen();
    await this.writeTransaction(async (m) => {
      const row = await m.findOneBy(ObjectEntity, { sysname });
      if (row && row.classVersion < classVersion) await m.update(ObjectEntity, { sysname }, { classVersion });
    });
    debug("upgraded object %s to class version %d (if older)", sysname, classVersion);
    return this.getObject(sysname);
  }

  listObjects(): ObjectDescriptor[] {
    this.assertOpen();
    return (this.sql.listObjects.all() as ObjectEntity[]).map(objectDescriptorOf);
  }

  countObjects(): number {
    this.assertOpen();
    return this.objectCount;
  }

  async deleteObject(sysname: SysName): Promise<boolean> {
    this.assertOpen();
    const deleted = await this.writeTransaction(async (m) => {
      const row = await m.findOneBy(ObjectEntity, { sysname });
      if (!row) return false;
      // An object's segments are exactly its descriptor's (checkObjectSegments): no index on `object` needed.
      const names = Object.values(objectDescriptorOf(row).segments);
      await m.delete(PageEntity, { segment: In(names) });
      await m.delete(SegmentEntity, { sysname: In(names) });
      await m.delete(ObjectEntity, { sysname });
      return true;
    });
    if (deleted) this.objectCount--;
    if (deleted) debug("deleted object %s", sysname);
    return deleted;
  }

  getSegment(sysname: SysName): SegmentRecord | null {
    this.assertOpen();
    const row = this.sql.getSegment.get(sysname) as SegmentEntity | undefined;
    return row ? segmentRecordOf(row) : null;
  }

  segmentSize(sysname: SysName): { maxPages: number; pages: number; bytes: number } | null {
    const seg = this.getSegment(sysname);
    if (!seg) return null;
    return { maxPages: seg.maxPages, ...(this.sql.segmentSize.get(sysname) as { pages: number; bytes: number }) };
  }

  // ---- pages (prepared statements) ------------------------------------------------------

  readPage(segment: SysName, page: PageNo): StoredPage {
    this.assertOpen();
    const row = this.sql.readPage.get(page, segment) as [number, number | null, Buffer | null] | undefined;
    if (row === undefined) throw segmentNotFound(segment);
    checkPageNo(segment, page, row[0]);
    return row[2] === null ? { bytes: null, version: 0 } : { bytes: decodePage(row[2], segment, page), version: row[1] as number };
  }

  /** With no writes but a decision or a prepared record to finish, still one call of a group commit. */
  commitPages(writes: PageWrite[], decision?: DecisionRecord, finished?: AtomicId): Promise<number[]> {
    const call = { ...(decision ? { decision: { ...decision } } : {}), ...(finished !== undefined ? { finished } : {}) };
    const groupCommit = { submit: (copies: readonly PageWrite[]) => this.groupCommit.submit({ kind: "pages", writes: copies, ...call }) };
    const store = { assertOpen: () => this.assertOpen(), stats: this.stats, groupCommit };
    if (writes.length > 0 || (!decision && finished === undefined)) return submitCommit(writes, store);
    // submitCommit resolves an empty call at once, storing nothing: its decision or deletion would be lost.
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
    await this.writeTransaction(async (m) => {
      if (await m.existsBy(ClassEntity, { name: rec.name, version: rec.version })) {
        throw new Error(`class ${rec.name} version ${rec.version} is already registered`);
      }
      await m.insert(ClassEntity, classEntityOf(rec));
    });
    debug("registered class %s v%d", rec.name, rec.version);
  }

  getClass(name: ClassName, version?: number): ClassRecord | null {
    this.assertOpen();
    const row = (
      version === undefined ? this.sql.getLatestClass.get(name) : this.sql.getClass.get(name, version)
    ) as ClassEntity | undefined;
    return row ? classRecordOf(row) : null;
  }

  listClasses(): ClassRecord[] {
    this.assertOpen();
    return (this.sql.listLatestClasses.all() as ClassEntity[]).map(classRecordOf);
  }

  // ---- atomic threads' decisions (AtomicDecisions) ---------------------------------------

  /** Stored in the next group commit unless the id has one it does not supersede: resolves, once durable, with the one stored. */
  async putDecision(record: DecisionRecord): Promise<DecisionRecord> {
    this.assertOpen();
    await this.groupCommit.submit({ kind: "decision", record: { ...record } });
    const stored = this.getDecision(record.id);
    if (!stored) throw new Error(`the decision of ${record.id} was stored but cannot be read back`);
    return stored;
  }

  getDecision(id: AtomicId): DecisionRecord | null {
    this.assertOpen();
    const row = this.sql.getDecision.get(id) as AtomicDecisionEntity | undefined;
    return row ? decisionRecordOf(row) : null;
  }

  async acknowledgeDecision(id: AtomicId): Promise<boolean> {
    this.assertOpen();
    return this.writeTransaction(async (m) => (await m.update(AtomicDecisionEntity, { id }, { acknowledged: 1 })).affected === 1);
  }

  async forgetDecisions(before: number): Promise<number> {
    this.assertOpen();
    return this.writeTransaction(async (m) => {
      const gone = await m.createQueryBuilder().delete().from(AtomicDecisionEntity)
        .where("acknowledged = 1 AND decided_at < :before", { before }).execute();
      return gone.affected ?? 0;
    });
  }

  // ---- atomic threads prepared here (AtomicParticipants) -----------------------------------

  /** Stored (replacing the id's) in the next group commit; the pages are encoded, so copied, now. */
  async putPrepared(record: PreparedRecord): Promise<void> {
    this.assertOpen();
    const { pages, ...rest } = record;
    await this.groupCommit.submit({ kind: "prepared", record: { ...rest }, pages: encodePreparedPages(pages) });
    debug("prepared %s (attempt %d, %d pages)", record.id, record.attempt, pages.length);
  }

  async forgetPrepared(id: AtomicId): Promise<boolean> {
    this.assertOpen();
    const call: StoreCall = { kind: "forget", id, found: false };
    await this.groupCommit.submit(call);
    return call.found;
  }

  listPrepared(): PreparedRecord[] {
    this.assertOpen();
    return (this.sql.listPrepared.all() as AtomicPreparedEntity[]).map(preparedRecordOf);
  }

  // ---- lifecycle ------------------------------------------------------------------------

  /** The connection's settings as SQLite reports them (for tests, `clouds status`, /metrics). */
  sqliteSettings(): SqliteSettings {
    this.assertOpen();
    return {
      journalMode: String(this.db.pragma("journal_mode", { simple: true })),
      synchronous: Number(this.db.pragma("synchronous", { simple: true })),
      busyTimeoutMs: Number(this.db.pragma("busy_timeout", { simple: true })),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.groupCommit.drain();
    await this.lane.idle();
    await this.dataSource.destroy();
    debug("closed (epoch %d)", this.epoch);
  }

  // ---- internals ------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw new Error("SqliteSegmentStore is closed");
  }

  /**
   * A TypeORM transaction, run through the write lane once the objects created before it are
   * stored (they wait for a group commit, which itself needs the lane: wait outside it).
   */
  private async writeTransaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    if (this.creating.size > 0) await Promise.allSettled([...this.creating]);
    return this.lane.run(() => this.dataSource.transaction(work));
  }

  /** GroupCommit's executor: one transaction for the batch; it throws if that failed. */
  private executeBatch(batch: readonly StoreCall[]): CallOutcome[] {
    const outcomes = this.pageTransaction(batch);
    this.stats.transactions++;
    batch.forEach((call, i) => {
      const outcome = outcomes[i];
      if (!outcome.ok) return;
      if (call.kind === "object") this.objectCount++;
      else this.stats.pagesWritten += outcome.versions.length;
    });
    debug("group commit: %d calls in one transaction", batch.length);
    return outcomes;
  }

  /** Inside the transaction: each call is checked whole, then stored whole, or refused alone. */
  private writeBatch(batch: readonly StoreCall[]): CallOutcome[] {
    const maxPages = new Map<SysName, number | null>();
    const maxPagesOf = (s: SysName) => {
      if (!maxPages.has(s)) maxPages.set(s, this.segmentMaxPages(s));
      return maxPages.get(s)!;
    };
    return batch.map((call): CallOutcome => {
      switch (call.kind) {
        case "object": return this.insertObject(call.desc, call.segments);
        case "decision": return this.insertDecision(call.record);
        case "prepared": return this.upsertPrepared(call.record, call.pages);
        case "forget":
          call.found = this.sql.deletePrepared.run(call.id).changes > 0;
          return { ok: true, versions: [] };
        case "pages": return this.writePages(call, maxPagesOf);
      }
    });
  }

  /** Inside the transaction: a commitPages call's pages, then its decision and finished record; or nothing if refused. */
  private writePages(call: Extract<StoreCall, { kind: "pages" }>, maxPagesOf: (s: SysName) => number | null): CallOutcome {
    try {
      checkWriteTargets(call.writes, maxPagesOf);
    } catch (error) {
      if (!(error instanceof CloudsError)) throw error;
      return { ok: false, error };
    }
    const versions = call.writes.map((w) => this.upsertPage(w));
    if (call.decision) this.insertDecision(call.decision);
    if (call.finished !== undefined) this.sql.deletePrepared.run(call.finished);
    return { ok: true, versions };
  }

  /** Inside the transaction: an object's segment and object rows, or nothing if one exists. */
  private insertObject(desc: ObjectDescriptor, segments: readonly SegmentRecord[]): CallOutcome {
    if (this.sql.getObject.get(desc.sysname)) return { ok: false, error: new Error(`object ${desc.sysname} already exists`) };
    const taken = segments.find((s) => this.sql.getSegment.get(s.sysname));
    if (taken) return { ok: false, error: new Error(`segment ${taken.sysname} already exists`) };
    for (const s of segments) this.sql.insertSegment.run(s.sysname, s.object, s.role, s.maxPages, s.createdAt);
    const { data, heap, volatile } = desc.segments;
    this.sql.insertObject.run(desc.sysname, desc.className, desc.classVersion, desc.home, data, heap, volatile, desc.createdAt);
    return { ok: true, versions: [] };
  }

  /** Inside the transaction: the decision, unless its id has one it does not supersede (the statement's rule). */
  private insertDecision(r: DecisionRecord): CallOutcome {
    this.sql.insertDecision.run(r.id, r.outcome, r.proposer, r.decidedAt, r.acknowledged ? 1 : 0, r.attempt);
    return { ok: true, versions: [] };
  }

  /** Inside the transaction: the prepared record, replacing the id's. */
  private upsertPrepared(r: Omit<PreparedRecord, "pages">, pages: Buffer): CallOutcome {
    this.sql.putPrepared.run(r.id, r.attempt, r.writer, r.logHome, pages, r.preparedAt);
    return { ok: true, versions: [] };
  }

  private segmentMaxPages(segment: SysName): number | null {
    const row = this.sql.segmentMaxPages.get(segment) as { maxPages: number } | undefined;
    return row ? row.maxPages : null;
  }

  /** Stores the page encoded (page-codec.ts): zeros cost nothing. `write.bytes` is the store's own copy. */
  private upsertPage(write: PageWrite): number {
    const blob = encodePage(write.bytes as Buffer);
    return (this.sql.upsertPage.get(write.segment, write.page, blob) as { version: number }).version;
  }
}

// ---- opening ------------------------------------------------------------------------------

/** Runs on the fresh connection before TypeORM touches the schema. */
function applyPragmas(db: BetterSqlite3.Database, durability: Durability): void {
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${SYNCHRONOUS[durability]}`);
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
}

/** The better-sqlite3 Database TypeORM opened (BetterSqlite3Driver.databaseConnection). */
function connectionOf(dataSource: DataSource): BetterSqlite3.Database {
  const db = (dataSource.driver as unknown as { databaseConnection?: BetterSqlite3.Database }).databaseConnection;
  if (!db || typeof db.prepare !== "function") throw new Error("TypeORM driver exposes no better-sqlite3 connection");
  return db;
}

/** WAL is part of the durability contract: refuse a file system that cannot do it. */
function checkJournalMode(db: BetterSqlite3.Database, file: string): void {
  const mode = db.pragma("journal_mode", { simple: true });
  if (mode !== "wal" && file !== ":memory:") throw new Error(`${file}: journal_mode is ${mode}, WAL is required`);
}

/** Inside the opening transaction: epoch + 1 (1 for a new file); the file must be ours. */
async function bumpEpoch(m: EntityManager, serverId: ServerId): Promise<number> {
  const state = await m.findOneBy(StoreStateEntity, { id: STORE_STATE_ID });
  if (!state) {
    await m.insert(StoreStateEntity, { id: STORE_STATE_ID, epoch: 1, serverId, createdAt: Date.now() });
    return 1;
  }
  if (state.serverId !== serverId) {
    throw new Error(`store belongs to data server ${state.serverId}, not ${serverId}`);
  }
  await m.update(StoreStateEntity, { id: STORE_STATE_ID }, { epoch: state.epoch + 1 });
  return state.epoch + 1;
}
