/**
 * SegmentEntity: one row per segment (table `segments`).
 *
 * Column names are explicit (snake_case) because SqliteSegmentStore's prepared statements
 * name them (sqlite-statements.ts); every column has an explicit `type`, never one inferred
 * from decorator metadata. `object` is indexed: deleting an object finds its segments by it.
 */
import "reflect-metadata";
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import type { SegmentRole, SysName } from "../../../ra-kernel/ids.js";
import type { SegmentRecord } from "../segment-store.js";

@Entity("segments")
export class SegmentEntity {
  @PrimaryColumn({ type: "text" })
  sysname!: string;

  @Index("idx_segments_object")
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
