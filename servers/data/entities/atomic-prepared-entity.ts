/**
 * AtomicPreparedEntity: one row per atomic thread prepared here and not yet decided here
 * (table `atomic_prepared`), keyed by its atomic id: the attempt prepared, its coordinator,
 * its log home, and its pages' logs as one blob (prepared-record-codec.ts).
 *
 * A row lives from the prepare (putPrepared, which replaces an earlier row of the id) until
 * the thread is decided here: deleted in the transaction that applies its pages (commitPages
 * `finished`), or by forgetPrepared. No index but the key: the table is read whole only at
 * start-up (listPrepared), and it holds only the threads in flight.
 *
 * Column names and types are explicit: sqlite-statements.ts reads and writes the rows with
 * prepared statements, and types are never inferred from decorator metadata.
 */
import "reflect-metadata";
import { Column, Entity, PrimaryColumn } from "typeorm";
import type { AtomicId, ServerId } from "../../../ra-kernel/ids.js";
import { decodePreparedPages } from "../prepared-record-codec.js";
import type { PreparedRecord } from "../segment-store.js";

@Entity("atomic_prepared", { withoutRowid: true })
export class AtomicPreparedEntity {
  @PrimaryColumn({ type: "text" })
  id!: string;

  @Column({ type: "integer" })
  attempt!: number;

  /** The compute server that prepared it (the thread's coordinator). */
  @Column({ type: "text" })
  writer!: string;

  @Column({ type: "text", name: "log_home" })
  logHome!: string;

  /** PreparedRecord.pages, encoded by prepared-record-codec.ts. */
  @Column({ type: "blob" })
  pages!: Buffer;

  @Column({ type: "integer", name: "prepared_at" })
  preparedAt!: number;
}

/** The record a row (or a raw row aliased to the entity's property names) describes. */
export function preparedRecordOf(row: AtomicPreparedEntity): PreparedRecord {
  return {
    id: row.id as AtomicId,
    attempt: row.attempt,
    writer: row.writer,
    logHome: row.logHome as ServerId,
    pages: pagesOf(row),
    preparedAt: row.preparedAt,
  };
}

/** The row's pages; a corrupt blob throws naming the record (start-up must not guess). */
function pagesOf(row: AtomicPreparedEntity): PreparedRecord["pages"] {
  try {
    return decodePreparedPages(row.pages);
  } catch (error) {
    throw new Error(`prepared record ${row.id}: ${(error as Error).message}`, { cause: error });
  }
}
