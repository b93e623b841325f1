/**
 * sqliteFootprint: what a server's SQLite file takes on disk once its WAL is checkpointed,
 * read while the server runs (a read-only connection of our own, which sees every committed
 * transaction, WAL included): page_count * page_size is the main file's size after a full
 * checkpoint. Also the WAL's size now, and rows per table.
 *
 *   const f = sqliteFootprint(path.join(ds1.dir, "segments.sqlite"));
 *   f.bytes / objects   // disk bytes per object
 *
 * Read-only: never checkpoints or writes the server's file.
 */
import { existsSync, statSync } from "node:fs";
import BetterSqlite3 from "better-sqlite3";

export interface SqliteFootprint {
  /** The database's size after a checkpoint (page_count * page_size). */
  bytes: number;
  /** The -wal file's size right now (0 if none). */
  walBytes: number;
  /** Bytes each table and index takes, from dbstat when this SQLite has it (else empty). */
  tables: Record<string, number>;
}

export function sqliteFootprint(file: string): SqliteFootprint {
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const pages = Number(db.pragma("page_count", { simple: true }));
    const pageSize = Number(db.pragma("page_size", { simple: true }));
    const wal = `${file}-wal`;
    return { bytes: pages * pageSize, walBytes: existsSync(wal) ? statSync(wal).size : 0, tables: tableBytes(db) };
  } finally {
    db.close();
  }
}

function tableBytes(db: BetterSqlite3.Database): Record<string, number> {
  try {
    const rows = db.prepare(`SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC`).all() as Array<{ name: string; bytes: number }>;
    return Object.fromEntries(rows.map((r) => [r.name, r.bytes]));
  } catch {
    return {}; // built without SQLITE_ENABLE_DBSTAT_VTAB
  }
}
