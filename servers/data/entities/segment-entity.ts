/**
 * SegmentEntity: one row per segment (table `segments`).
 *
 * Column names are explicit (snake_case) because SqliteSegmentStore's prepared statements
 * name them (sqlite-statements.ts); every column has an explicit `type`, never one inferred
 * from decorator metadata. `object` is not indexed: an object's segments are the ones its
 * descriptor names (deleting it reads them there), and an index would cost ~75 bytes per
 * segment. WITHOUT ROWID (stores created since; see page-entity.ts): the sysname is stored once.
 */
import "reflect-metadata";
import { Column, Entity, PrimaryColumn } from "typeorm";
import type { SegmentRole, SysName } from "../../../ra-kernel/ids.js";
import type { SegmentRecord } from "../segment-store.js";

@Entity("segments", { withoutRowid: true })
export class SegmentEntity {
  @PrimaryColumn({ type: "text" })
  sysname!: string;

  @Column({ type: "text", nullable: true })
  object!: string | null;

  @Column({ type: "text" })
  role!: string;

  @Column({ type: "integer", name: "max_pages" })
  maxPages!: number;

  @Column({ type: "integer", name: "created_at" })
  createdAt!: number;
}

/** The record a row (an entity, or a raw row aliased to its property names) describes. */
export function segmentRecordOf(row: SegmentEntity): SegmentRecord {
  return {
    sysname: row.sysname as SysName,
    object: (row.object ?? null) as SysName | null,
    role: row.role as SegmentRole,
    maxPages: row.maxPages,
    createdAt: row.createdAt,
  };
}

export function segmentEntityOf(rec: SegmentRecord): SegmentEntity {
  return Object.assign(new SegmentEntity(), {
    sysname: rec.sysname,
    object: rec.object,
    role: rec.role,
    maxPages: rec.maxPages,
    createdAt: rec.createdAt,
  });
}
