/**
 * Errors of the server host (what every server process does, whatever its role).
 */
import { CloudsError, registerError } from "../../ra-kernel/clouds-error.js";

/**
 * Thrown when a server is started on a state directory that another live process holds
 * (its `server.lock`): two servers never share one directory's SQLite files.
 */
export class StateDirHeldError extends CloudsError {
  /** The state directory asked for. */
  declare readonly dir: string;
  /** The process that holds it. */
  declare readonly holderPid: number;
  /** The server id the holder runs as (as its lock file says). */
  declare readonly holderId: string;
  static override fieldNames = ["dir", "holderPid", "holderId"];
}

registerError(StateDirHeldError);
