/**
 * Options of the data server's durable store (SqliteSegmentStore). The data server builds
 * them from its command line (`clouds data-server --durability process`, ...).
 */
import type { ServerId } from "../../ra-kernel/ids.js";

/**
 * What a returned commit survives (DESIGN §7).
 * - "power": a power loss or OS crash (WAL + synchronous=FULL: fsync at every commit).
 * - "process": a crash of the data server process only (WAL + synchronous=NORMAL: the WAL
 *   is fsynced at checkpoints, not at every commit). Faster; documented as the weaker option.
 */
export type Durability = "power" | "process";

export interface SegmentStoreOptions {
  /** Path of the SQLite database file; its directory is created if missing. */
  file: string;

  /** The data server that owns the store; recorded at first open and checked at later opens. */
  serverId: ServerId;

  /**
   * What a resolved commitPages survives.
   * @default "power"
   */
  durability?: Durability;

  /**
   * How long the first commitPages of a batch waits for others to join its transaction.
   * 0 batches what arrives in the same event loop tick (flush on setImmediate).
   * @default 0
   */
  groupCommitMaxWaitMs?: number;
}

export const DEFAULT_DURABILITY: Durability = "power";
export const DEFAULT_GROUP_COMMIT_MAX_WAIT_MS = 0;
