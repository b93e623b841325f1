/**
 * A SqliteSegmentStore file as stores made it before pages were encoded (page-codec.ts):
 * rowid tables, an index on segments.object, and every page stored whole (PAGE_SIZE bytes).
 * The schema is the one those stores' TypeORM synchronize created, verbatim.
 *
 *   writeLegacyStore(file, "ds1", obj, [{ segment, page: 0, version: 3, bytes }]);
 *   const store = await SqliteSegmentStore.open({ file, serverId: "ds1" });
 */
import BetterSqlite3 from "better-sqlite3";
import type { ServerId, SysName } from "../../ra-kernel/ids.js";
import type { ObjectFixture } from "./segment-store-fixtures.js";

const LEGACY_SCHEMA = `
CREATE TABLE "segments" ("sysname" text PRIMARY KEY NOT NULL, "object" text, "role" text NOT NULL, "max_pages" integer NOT NULL, "created_at" integer NOT NULL);
CREATE INDEX "idx_segments_object" ON "segments" ("object");
CREATE TABLE "pages" ("segment" text NOT NULL, "page_no" integer NOT NULL, "version" integer NOT NULL, "bytes" blob NOT NULL, PRIMARY KEY ("segment", "page_no"));
CREATE TABLE "objects" ("sysname" text PRIMARY KEY NOT NULL, "class_name" text NOT NULL, "class_version" integer NOT NULL, "home" text NOT NULL, "data_segment" text NOT NULL, "heap_segment" text NOT NULL, "volatile_segment" text NOT NULL, "created_at" integer NOT NULL);
CREATE TABLE "classes" ("name" text NOT NULL, "version" integer NOT NULL, "sysname" text NOT NULL, "code" text NOT NULL, "entries" text NOT NULL, "source_file" text NOT NULL, "source_hash" text NOT NULL, "registered_at" integer NOT NULL, PRIMARY KEY ("name", "version"));
CREATE TABLE "store_state" ("id" integer PRIMARY KEY NOT NULL, "epoch" integer NOT NULL, "server_id" text NOT NULL, "created_at" integer NOT NULL);
`;

export interface LegacyPage {
  segment: SysName;
  page: number;
  version: number;
  /** Stored as given: whole pages, as legacy stores wrote them. */
  bytes: Uint8Array;
}

export function writeLegacyStore(file: string, serverId: ServerId, obj: ObjectFixture, pages: LegacyPage[]): void {
  const db = new BetterSqlite3(file);
  try {
    db.pragma("journal_mode = WAL");
    db.exec(LEGACY_SCHEMA);
    db.prepare(`INSERT INTO store_state VALUES (1, 1, ?, ?)`).run(serverId, Date.now());
    const { desc } = obj;
    const { data, heap, volatile } = desc.segments;
    db.prepare(`INSERT INTO objects VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(desc.sysname, desc.className, desc.classVersion, desc.home, data, heap, volatile, desc.createdAt);
    for (const s of obj.segments) db.prepare(`INSERT INTO segments VALUES (?, ?, ?, ?, ?)`).run(s.sysname, s.object, s.role, s.maxPages, s.createdAt);
    for (const p of pages) db.prepare(`INSERT INTO pages VALUES (?, ?, ?, ?)`).run(p.segment, p.page, p.version, Buffer.from(p.bytes));
  } finally {
    db.close();
  }
}
