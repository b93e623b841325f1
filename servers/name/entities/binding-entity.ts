/**
 * BindingEntity: one row of the `bindings` table, one bound path (parent directories that
 * `bind` created implicitly included; the root is never stored).
 *
 * Every column names its SQL type: the compiler does not emit decorator type metadata we
 * could rely on. `meta` is JSON text; `parent` (indexed) makes listing a directory one
 * indexed query, and subtrees are a range over the primary key (`path > 'p/' AND
 * path < 'p0'`, since '0' follows '/'). Only SqliteNameDirectory reads or writes these rows;
 * everyone else sees Binding values.
 */
import { Column, Entity, Index, PrimaryColumn } from "typeorm";

@Entity({ name: "bindings" })
export class BindingEntity {
  /** Normalized absolute path. */
  @PrimaryColumn({ type: "text" })
  path!: string;

  /** Normalized path of the directory holding this one ("/" for top-level names). */
  @Index()
  @Column({ type: "text" })
  parent!: string;

  @Column({ type: "text", nullable: true })
  sysname!: string | null;

  /** A BindingKind. */
  @Column({ type: "text" })
  kind!: string;

  /** JSON object text. */
  @Column({ type: "text" })
  meta!: string;

  /** Milliseconds since the epoch. */
  @Column({ type: "integer" })
  updatedAt!: number;
}
