/**
 * SqliteStatements: the prepared statements of SqliteSegmentStore, on the one better-sqlite3
 * connection that TypeORM opened.
 *
 * They serve what must be synchronous: the DSM hot path (readPage, the page upserts of a
 * group commit) and the store's synchronous lookups (getObject, getSegment, getClass...).
 * Table and column names are the explicit ones of entities/; columns are aliased back to the
 * entities' property names so that rows go through the same mappers (segmentRecordOf, ...).
 *
 * Rules:
 * - Each statement is one indexed lookup (primary key), except the three list statements and
 *   the count run once at open.
 * - Prepared once, after TypeORM synchronized the schema. SQLite re-prepares them by itself
 *   if the schema changes later.
 */
import type BetterSqlite3 from "better-sqlite3";

type Statement = BetterSqlite3.Statement;

const SEGMENT_COLUMNS = `sysname, object, role, max_pages AS maxPages, created_at AS createdAt`;
const OBJECT_COLUMNS = `sysname, class_name AS className, class_version AS classVersion, home,
  data_segment AS dataSegment, heap_segment AS heapSegment, volatile_segment AS volatileSegment,
  created_at AS createdAt`;
const CLASS_COLUMNS = `name, version, sysname, code, entries, source_file AS sourceFile,
  source_hash AS sourceHash, registered_at AS registeredAt`;

export class SqliteStatements {
  /** (pageNo, segment) -> [maxPages, version | null, bytes | null]; no row: no segment. */
  readonly readPage: Statement;
  /** (segment) -> { maxPages }. */
  readonly segmentMaxPages: Statement;
  /** (segment, pageNo, bytes) -> { version }: inserts at version 1 or bumps the version. */
  readonly upsertPage: Statement;
  /** (sysname, object, role, maxPages, createdAt): a new segment (group commit). */
  readonly insertSegment: Statement;
  /** (sysname, className, classVersion, home, data, heap, volatile, createdAt): a new object (group commit). */
  readonly insertObject: Statement;
  readonly getSegment: Statement;
  /** (segment) -> { pages, bytes }: the pages stored (the primary key's range, no table scan). */
  readonly segmentSize: Statement;
  readonly getObject: Statement;
  readonly listObjects: Statement;
  /** () -> { n }: a full count, run once at open (SqliteSegmentStore keeps it up to date). */
  readonly countObjects: Statement;
  readonly getClass: Statement;
  readonly getLatestClass: Statement;
  readonly listLatestClasses: Statement;
  /**
   * (id, outcome, proposer, decidedAt, acknowledged 0|1, attempt): a decision, unless the id
   * has one it does not supersede (atomic-decisions.ts `supersedes`): a stored abort of an
   * earlier attempt is replaced whole; a commit, or an abort of the same or a later attempt,
   * stands (group commit).
   */
  readonly insertDecision: Statement;
  /** (id) -> the decision's row (columns aliased to AtomicDecisionEntity's properties). */
  readonly getDecision: Statement;
  /** (id, attempt, writer, logHome, pages blob, preparedAt): a prepared record, replacing the id's (group commit). */
  readonly putPrepared: Statement;
  /** (id) -> changes 0|1: deletes the id's prepared record (group commit). */
  readonly deletePrepared: Statement;
  /** () -> every prepared row, oldest first (columns aliased to AtomicPreparedEntity's properties). */
  readonly listPrepared: Statement;

  constructor(db: BetterSqlite3.Database) {
    this.insertDecision = db.prepare(
      `INSERT INTO atomic_decisions (id, outcome, proposer, decided_at, acknowledged, attempt) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, proposer = excluded.proposer,
         decided_at = excluded.decided_at, acknowledged = excluded.acknowledged, attempt = excluded.attempt
       WHERE atomic_decisions.outcome = 'abort' AND atomic_decisions.attempt < excluded.attempt`,
    );
    this.getDecision = db.prepare(
      `SELECT id, outcome, proposer, decided_at AS decidedAt, acknowledged, attempt FROM atomic_decisions WHERE id = ?`,
    );
    this.putPrepared = db.prepare(
      `INSERT INTO atomic_prepared (id, attempt, writer, log_home, pages, prepared_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET attempt = excluded.attempt, writer = excluded.writer,
         log_home = excluded.log_home, pages = excluded.pages, prepared_at = excluded.prepared_at`,
    );
    this.deletePrepared = db.prepare(`DELETE FROM atomic_prepared WHERE id = ?`);
    this.listPrepared = db.prepare(
      `SELECT id, attempt, writer, log_home AS logHome, pages, prepared_at AS preparedAt
       FROM atomic_prepared ORDER BY prepared_at, id`,
    );
    this.readPage = db
      .prepare(
        `SELECT s.max_pages, p.version, p.bytes FROM segments s
         LEFT JOIN pages p ON p.segment = s.sysname AND p.page_no = ? WHERE s.sysname = ?`,
      )
      .raw(true);
    this.segmentMaxPages = db.prepare(`SELECT max_pages AS maxPages FROM segments WHERE sysname = ?`);
    this.upsertPage = db.prepare(
      `INSERT INTO pages (segment, page_no, version, bytes) VALUES (?, ?, 1, ?)
       ON CONFLICT (segment, page_no) DO UPDATE SET version = version + 1, bytes = excluded.bytes
       RETURNING version`,
    );
    this.insertSegment = db.prepare(
      `INSERT INTO segments (sysname, object, role, max_pages, created_at) VALUES (?, ?, ?, ?, ?)`,
    );
    this.insertObject = db.prepare(
      `INSERT INTO objects (sysname, class_name, class_version, home, data_segment, heap_segment, volatile_segment, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.getSegment = db.prepare(`SELECT ${SEGMENT_COLUMNS} FROM segments WHERE sysname = ?`);
    this.segmentSize = db.prepare(`SELECT COUNT(*) AS pages, COALESCE(SUM(LENGTH(bytes)), 0) AS bytes FROM pages WHERE segment = ?`);
    this.getObject = db.prepare(`SELECT ${OBJECT_COLUMNS} FROM objects WHERE sysname = ?`);
    this.listObjects = db.prepare(`SELECT ${OBJECT_COLUMNS} FROM objects ORDER BY created_at, sysname`);
    this.countObjects = db.prepare(`SELECT COUNT(*) AS n FROM objects`);
    this.getClass = db.prepare(`SELECT ${CLASS_COLUMNS} FROM classes WHERE name = ? AND version = ?`);
    this.getLatestClass = db.prepare(
      `SELECT ${CLASS_COLUMNS} FROM classes WHERE name = ? ORDER BY version DESC LIMIT 1`,
    );
    this.listLatestClasses = db.prepare(
      `SELECT ${CLASS_COLUMNS} FROM classes c
       WHERE version = (SELECT MAX(version) FROM classes WHERE name = c.name) ORDER BY name`,
    );
  }
}
