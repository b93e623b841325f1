/**
 * CounterRow: one row of the peer baseline's `counters` table — a counter's id and its count.
 *
 * Every column names its SQL type: the compiler's decorator type metadata is not relied on
 * (as in servers/data/entities/). Only CounterStore reads or writes these rows.
 */
import { Column, Entity, PrimaryColumn } from "typeorm";

@Entity({ name: "counters" })
export class CounterRow {
  /** The counter's id, as it appears in the URL (validated by the service before it gets here). */
  @PrimaryColumn({ type: "text" })
  id!: string;

  @Column({ type: "integer" })
  count!: number;
}
