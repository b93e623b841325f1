/**
 * StoreStateEntity: the store's own state (table `store_state`), a single row (id 1):
 * the epoch, bumped at every open, and the data server the file belongs to.
 */
import "reflect-metadata";
import { Column, Entity, PrimaryColumn } from "typeorm";

/** The id of the one row. */
export const STORE_STATE_ID = 1;

@Entity("store_state")
export class StoreStateEntity {
  @PrimaryColumn({ type: "integer" })
  id!: number;

  @Column({ type: "integer" })
  epoch!: number;

  @Column({ type: "text", name: "server_id" })
  serverId!: string;

  @Column({ type: "integer", name: "created_at" })
  createdAt!: number;
}
