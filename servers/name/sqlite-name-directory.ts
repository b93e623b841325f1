/**
 * SqliteNameDirectory: the name server's durable NameDirectory, one SQLite file, in WAL mode
 * with synchronous=FULL so a bind that returned survives a crash of the process or the machine.
 *
 * Use `await SqliteNameDirectory.open(file)` and `await close()` when done (an open
 * DataSource keeps the process alive). The semantics live in TreeNameDirectory; this file
 * only maps BindingRows onto the `bindings` table. TypeORM (better-sqlite3 driver) opens the
 * file and creates the schema from BindingEntity; the rows are then read and written with
 * prepared statements on the same connection (synchronous, one indexed statement each).
 *
 * Group commit: operations run one at a time (TreeNameDirectory), each inside a SAVEPOINT of
 * a batch transaction that stays open while more operations follow at once; the batch
 * commits (one fsync) when none is left to run, and `durable()` resolves every operation of
 * it only then — so no caller, reader or writer, sees a reply before what it saw is durable.
 * An operation that throws is rolled back to its savepoint alone. A read while no batch is
 * open runs outside any transaction (it sees committed rows only) and waits for nothing.
 *
 * Do not share the file with another process: the name server owns it.
 */
import "reflect-metadata";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import createDebug from "debug";
import type BetterSqlite3 from "better-sqlite3";
import { DataSource } from "typeorm";
import type { SysName } from "../../ra-kernel/ids.js";
import { BindingEntity } from "./entities/binding-entity.js";
import { parentOf, ROOT, type Binding, type BindingKind } from "./name-directory.js";
import { TreeNameDirectory, type BindingRows } from "./tree-name-directory.js";

const log = createDebug("servers:name");

/** A batch transaction: open while operations follow one another; settled once committed. */
interface Batch {
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class SqliteNameDirectory extends TreeNameDirectory {
  /** Batch transactions committed so far (each one fsync). */
  commits = 0;
  private readonly rows: StatementRows;
  /** The open batch transaction, if any; committed by `commitSoon` when no operation runs. */
  private batch: Batch | null = null;
  private commitScheduled = false;

  private constructor(
    private readonly dataSource: DataSource,
    private readonly db: BetterSqlite3.Database,
    /** The database file. */
    readonly file: string,
  ) {
    super();
    this.rows = new StatementRows(db);
  }

  /** Opens (creating if needed) the database file and its folder. */
  static async open(file: string): Promise<SqliteNameDirectory> {
    mkdirSync(dirname(file), { recursive: true });
    const dataSource = new DataSource({
      type: "better-sqlite3",
      database: file,
      entities: [BindingEntity],
      synchronize: true,
      logging: false,
    });
    await dataSource.initialize();
    try {
      const db = (dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database }).databaseConnection;
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      log("opened %s", file);
      return new SqliteNameDirectory(dataSource, db, file);
    } catch (err) {
      await dataSource.destroy();
      throw err;
    }
  }

  protected async transact<T>(fn: (rows: BindingRows) => Promise<T>): Promise<T> {
    if (!this.batch) this.begin();
    this.db.exec("SAVEPOINT op");
    try {
      const result = await fn(this.rows);
      this.db.exec("RELEASE op");
      return result;
    } catch (err) {
      this.db.exec("ROLLBACK TO op");
      this.db.exec("RELEASE op");
      throw err;
    } finally {
      this.commitSoon();
    }
  }

  /**
   * A read needs no transaction of its own (operations run one at a time): outside a batch it
   * reads committed rows only; inside one it sees the batch's writes, so it joins it and
   * answers once the batch is committed (`durable`).
   */
  protected override transactRead<T>(fn: (rows: BindingRows) => Promise<T>): Promise<T> {
    return this.batch ? this.transact(fn) : fn(this.rows);
  }

  /** Resolves once the batch of the operations run so far is committed. */
  protected override durable(): Promise<void> {
    return this.batch?.done ?? Promise.resolve();
  }

  protected async release(): Promise<void> {
    this.commit();
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    log("closed %s", this.file);
  }

  private begin(): void {
    this.db.exec("BEGIN IMMEDIATE");
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    done.catch(() => undefined);
    this.batch = { done, resolve, reject };
  }

  /** Commits after the operations queued right now have run (they join this batch). */
  private commitSoon(): void {
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    setImmediate(() => {
      this.commitScheduled = false;
      this.commit();
    });
  }

  private commit(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = null;
    try {
      this.db.exec("COMMIT");
      this.commits++;
      batch.resolve();
    } catch (err) {
      log("commit failed: %s", (err as Error).message);
      if (this.db.inTransaction) this.db.exec("ROLLBACK");
      batch.reject(err);
    }
  }
}

/** BindingRows over prepared statements (the open batch transaction holds them). */
class StatementRows implements BindingRows {
  private readonly getRow: BetterSqlite3.Statement;
  private readonly putRow: BetterSqlite3.Statement;
  private readonly removeRow: BetterSqlite3.Statement;
  private readonly childRows: BetterSqlite3.Statement;
  private readonly anyChild: BetterSqlite3.Statement;
  private readonly allRows: BetterSqlite3.Statement;
  private readonly rangeRows: BetterSqlite3.Statement;

  constructor(db: BetterSqlite3.Database) {
    this.getRow = db.prepare(`SELECT * FROM bindings WHERE path = ?`);
    this.putRow = db.prepare(
      `INSERT INTO bindings (path, parent, sysname, kind, meta, updatedAt) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (path) DO UPDATE SET parent = excluded.parent, sysname = excluded.sysname, kind = excluded.kind,
       meta = excluded.meta, updatedAt = excluded.updatedAt`,
    );
    this.removeRow = db.prepare(`DELETE FROM bindings WHERE path = ?`);
    this.childRows = db.prepare(`SELECT * FROM bindings WHERE parent = ?`);
    this.anyChild = db.prepare(`SELECT 1 FROM bindings WHERE parent = ? LIMIT 1`);
    this.allRows = db.prepare(`SELECT * FROM bindings`);
    this.rangeRows = db.prepare(`SELECT * FROM bindings WHERE path > ? AND path < ?`);
  }

  async get(path: string): Promise<Binding | null> {
    const row = this.getRow.get(path) as BindingEntity | undefined;
    return row ? toBinding(row) : null;
  }

  async put(binding: Binding): Promise<void> {
    const parent = parentOf(binding.path) ?? ROOT;
    this.putRow.run(binding.path, parent, binding.sysname, binding.kind, JSON.stringify(binding.meta), binding.updatedAt);
  }

  async remove(path: string): Promise<void> {
    this.removeRow.run(path);
  }

  async children(path: string): Promise<Binding[]> {
    return (this.childRows.all(path) as BindingEntity[]).map(toBinding);
  }

  async hasChildren(path: string): Promise<boolean> {
    return this.anyChild.get(path) !== undefined;
  }

  async descendants(path: string): Promise<Binding[]> {
    const rows = path === ROOT ? this.allRows.all() : this.rangeRows.all(`${path}/`, `${path}0`);
    return (rows as BindingEntity[]).map(toBinding);
  }
}

function toBinding(row: BindingEntity): Binding {
  return {
    path: row.path,
    sysname: row.sysname as SysName | null,
    kind: row.kind as BindingKind,
    meta: JSON.parse(row.meta) as Binding["meta"],
    updatedAt: Number(row.updatedAt),
  };
}
