/**
 * AtomicDecisionEntity: one row per atomic thread decided here (table `atomic_decisions`),
 * keyed by its atomic id: commit or abort, who proposed it, when, whether every participant
 * finished it, and which attempt of the thread it decides (servers/data/atomic-decisions.ts).
 *
 * Column names are explicit: sqlite-statements.ts reads and writes them with prepared
 * statements (inside the group commit's transaction).
 */
import "reflect-metadata";
import { Column, Entity, Index, PrimaryColumn } from "typeorm";
import type { AtomicId } from "../../../ra-kernel/ids.js";
import type { AtomicOutcome, DecisionRecord } from "../atomic-decisions.js";

@Entity("atomic_decisions", { withoutRowid: true })
@Index("idx_atomic_decisions_decided_at", ["decidedAt"])
export class AtomicDecisionEntity {
  @PrimaryColumn({ type: "text" })
  id!: string;

  /** "commit" or "abort". */
  @Column({ type: "text" })
  outcome!: string;

  @Column({ type: "text" })
  proposer!: string;

  @Column({ type: "integer", name: "decided_at" })
  decidedAt!: number;

  /** 1 once every participant finished the thread. */
  @Column({ type: "integer" })
  acknowledged!: number;

  /**
   * DecisionRecord.attempt (EVERY_ATTEMPT fits: SQLite integers are 64-bit). Default 0: rows
   * of stores made before attempts decided the thread's only attempt, 0; TypeORM rebuilds
   * such a table with the column at the first open (synchronize).
   */
  @Column({ type: "integer", default: 0 })
  attempt!: number;
}

export function decisionRecordOf(row: AtomicDecisionEntity): DecisionRecord {
  return {
    id: row.id as AtomicId,
    outcome: row.outcome as AtomicOutcome,
    proposer: row.proposer,
    decidedAt: row.decidedAt,
    acknowledged: row.acknowledged === 1,
    attempt: row.attempt,
  };
}
