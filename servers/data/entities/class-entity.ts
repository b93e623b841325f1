/**
 * ClassEntity: one row per registered class version (table `classes`), keyed by
 * (name, version). `entries` is the JSON text of the entry points; `code` the bundle.
 * Column names are explicit: sqlite-statements.ts reads them with prepared statements.
 */
import "reflect-metadata";
import { Column, Entity, PrimaryColumn } from "typeorm";
import type { SysName } from "../../../ra-kernel/ids.js";
import type { EntrySignature } from "../../../objects/entry-signature.js";
import type { ClassRecord } from "../segment-store.js";

@Entity("classes")
export class ClassEntity {
  @PrimaryColumn({ type: "text" })
  name!: string;

  @PrimaryColumn({ type: "integer" })
  version!: number;

  @Column({ type: "text" })
  sysname!: string;

  @Column({ type: "text" })
  code!: string;

  /** JSON array of EntrySignature. */
  @Column({ type: "text" })
  entries!: string;

  @Column({ type: "text", name: "source_file" })
  sourceFile!: string;

  @Column({ type: "text", name: "source_hash" })
  sourceHash!: string;

  @Column({ type: "integer", name: "registered_at" })
  registeredAt!: number;
}

export function classRecordOf(row: ClassEntity): ClassRecord {
  return {
    name: row.name,
    version: row.version,
    sysname: row.sysname as SysName,
    code: row.code,
    entries: JSON.parse(row.entries) as EntrySignature[],
    sourceFile: row.sourceFile,
    sourceHash: row.sourceHash,
    registeredAt: row.registeredAt,
  };
}

export function classEntityOf(rec: ClassRecord): ClassEntity {
  return Object.assign(new ClassEntity(), {
    name: rec.name,
    version: rec.version,
    sysname: rec.sysname,
    code: rec.code,
    entries: JSON.stringify(rec.entries),
    sourceFile: rec.sourceFile,
    sourceHash: rec.sourceHash,
    registeredAt: rec.registeredAt,
  });
}
