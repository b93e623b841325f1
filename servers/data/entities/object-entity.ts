/**
 * ObjectEntity: one row per object descriptor (table `objects`): its class and the sysnames
 * of its data, persistent-heap and volatile-heap segments (rows of `segments`).
 * Column names are explicit: sqlite-statements.ts reads them with prepared statements.
 * WITHOUT ROWID (stores created since; see page-entity.ts): the sysname is stored once.
 */
import "reflect-metadata";
import { Column, Entity, PrimaryColumn } from "typeorm";
import type { ServerId, SysName } from "../../../ra-kernel/ids.js";
import type { ObjectDescriptor } from "../segment-store.js";

@Entity("objects", { withoutRowid: true })
export class ObjectEntity {
  @PrimaryColumn({ type: "text" })
  sysname!: string;

  @Column({ type: "text", name: "class_name" })
  className!: string;

  @Column({ type: "integer", name: "class_version" })
  classVersion!: number;

  @Column({ type: "text" })
  home!: string;

  @Column({ type: "text", name: "data_segment" })
  dataSegment!: string;

  @Column({ type: "text", name: "heap_segment" })
  heapSegment!: string;

  @Column({ type: "text", name: "volatile_segment" })
  volatileSegment!: string;

  @Column({ type: "integer", name: "created_at" })
  createdAt!: number;
}

export function objectDescriptorOf(row: ObjectEntity): ObjectDescriptor {
  return {
    sysname: row.sysname as SysName,
    className: row.className,
    classVersion: row.classVersion,
    home: row.home as ServerId,
    segments: {
      data: row.dataSegment as SysName,
      heap: row.heapSegment as SysName,
      volatile: row.volatileSegment as SysName,
    },
    createdAt: row.createdAt,
  };
}

export function objectEntityOf(desc: ObjectDescriptor): ObjectEntity {
  return Object.assign(new ObjectEntity(), {
    sysname: desc.sysname,
    className: desc.className,
    classVersion: desc.classVersion,
    home: desc.home,
    dataSegment: desc.segments.data,
    heapSegment: desc.segments.heap,
    volatileSegment: desc.segments.volatile,
    createdAt: desc.createdAt,
  });
}
