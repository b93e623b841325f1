/**
 * PageEntity: one row per page ever written (table `pages`), keyed by (segment, page_no).
 *
 * A page that was never written has no row: it reads as zeros, version 0. `version` starts
 * at 1 on the first commit and grows by one at each commit. `bytes` is the page as
 * page-codec.ts lays it out: empty (zeros), sparse (shorter than a page) or raw (PAGE_SIZE).
 *
 * WITHOUT ROWID (stores created since): the key is the row, not stored twice (a rowid table
 * keeps (segment, page_no) in the table and again in its primary-key index). Stores created
 * before keep their rowid table: TypeORM does not rebuild a table for that option.
 *
 * Rule: rows are read and written by the prepared statements of sqlite-statements.ts (the
 * DSM hot path); TypeORM only creates the table and deletes rows with their segment.
 */
import "reflect-metadata";
import { Column, Entity, PrimaryColumn } from "typeorm";

@Entity("pages", { withoutRowid: true })
export class PageEntity {
  @PrimaryColumn({ type: "text" })
  segment!: string;

  @PrimaryColumn({ type: "integer", name: "page_no" })
  pageNo!: number;

  @Column({ type: "integer" })
  version!: number;

  @Column({ type: "blob" })
  bytes!: Buffer;
}
