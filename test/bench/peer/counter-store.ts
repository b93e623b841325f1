/**
 * CounterStore: the peer baseline's persistence — counters in one SQLite file through
 * TypeORM (better-sqlite3 driver), each increment its own transaction, committed with an
 * fsync before it returns.
 *
 *   const store = await CounterStore.open(file);   // WAL, synchronous=FULL, both verified
 *   await store.increment("a");                    // 1
 *   await store.read("a");                         // 1 (0 for a counter never incremented)
 *   await store.close();
 *
 * This is what a plain express + TypeORM service does, on purpose: read the row, add one,
 * save it, in a transaction per request. Transactions (and reads) run one at a time (SerialQueue:
 * TypeORM shares one query runner between concurrent transactions on this driver), so
 * concurrent increments of one counter never lose an update. No group commit: one
 * transaction, one commit, one fsync of the WAL per increment (synchronous=FULL).
 *
 * Do not share the file with another process.
 */
import "reflect-metadata";
import type BetterSqlite3 from "better-sqlite3";
import { DataSource } from "typeorm";
import { CounterRow } from "./counter-row.js";
import { SerialQueue } from "./serial-queue.js";

/** What the store sets at startup and then reads back: a setting not taken is an error. */
const PRAGMAS: ReadonlyArray<[name: string, set: string, expected: string | number]> = [
  ["journal_mode", "WAL", "wal"],
  ["synchronous", "FULL", 2], // 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA
];

export class CounterStore {
  private readonly queue = new SerialQueue();

  private constructor(private readonly dataSource: DataSource) {}

  /** Opens (creating) the database file; throws if a PRAGMA does not read back as set. */
  static async open(file: string): Promise<CounterStore> {
    const dataSource = new DataSource({ type: "better-sqlite3", database: file, entities: [CounterRow], synchronize: true, logging: false });
    await dataSource.initialize();
    try {
      applyPragmas(connectionOf(dataSource));
      return new CounterStore(dataSource);
    } catch (err) {
      await dataSource.destroy();
      throw err;
    }
  }

  /** Adds one to the counter (created at 0 if missing) and returns the new count. */
  increment(id: string): Promise<number> {
    return this.queue.run(() =>
      this.dataSource.transaction(async (manager) => {
        const rows = manager.getRepository(CounterRow);
        const row = (await rows.findOneBy({ id })) ?? rows.create({ id, count: 0 });
        row.count += 1;
        await rows.save(row);
        return row.count;
      }),
    );
  }

  /**
   * The counter's committed count; 0 for one never incremented (increment starts it at 0).
   * Queued like the increments: on the one shared connection, a read while a transaction is
   * open would see that transaction's writes before they are committed.
   */
  read(id: string): Promise<number> {
    return this.queue.run(async () => (await this.dataSource.getRepository(CounterRow).findOneBy({ id }))?.count ?? 0);
  }

  /** The PRAGMA values in force, as SQLite reports them. */
  settings(): Record<string, unknown> {
    const db = connectionOf(this.dataSource);
    return Object.fromEntries(PRAGMAS.map(([name]) => [name, db.pragma(name, { simple: true })]));
  }

  async close(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}

/** The better-sqlite3 handle under TypeORM's driver (the same one it runs its queries on). */
function connectionOf(dataSource: DataSource): BetterSqlite3.Database {
  return (dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database }).databaseConnection;
}

function applyPragmas(db: BetterSqlite3.Database): void {
  for (const [name, set, expected] of PRAGMAS) {
    db.pragma(`${name} = ${set}`);
    const actual = db.pragma(name, { simple: true });
    if (actual !== expected) throw new Error(`PRAGMA ${name} = ${set} did not take: it reads ${String(actual)}, expected ${expected}`);
  }
}
