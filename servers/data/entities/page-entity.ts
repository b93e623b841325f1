/**
 * PageEntity: one row per page ever written (table `pages`), keyed by (segment, page_no).
 *
 * A page that was never written has no row: it reads as zeros, version 0. `version` starts
 * at 1 on the first commit and grows by one at each commit. `bytes` is always PAGE_SIZE long.
 *
 * Rule: rows are read and written by the prepared statements of sqlite-statements.ts (the
 * DSM hot path); TypeORM only creates the table and deletes rows with their segment.
 */
import "reflect-metadata";
import { Column, Entity, PrimaryColumn } from "typeorm";

@Entity("pages")
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
