/**
 * Errors of the workstation client (and the cluster commands built on it).
 */
import { CloudsError, registerError } from "../../ra-kernel/clouds-error.js";

/** Thrown when no cluster runs in a directory (no cluster file, or its servers are gone). */
export class ClusterNotRunningError extends CloudsError {
  declare readonly dir: string;
  static override fieldNames = ["dir"];
}

/** Thrown when a location hint or command names a server that is not registered. */
export class UnknownServerError extends CloudsError {
  /** Not `server`: that field of every CloudsError says where it was thrown. */
  declare readonly serverId: string;
  static override fieldNames = ["serverId"];
}

/** Thrown when a name is not bound in the name space. */
export class NameUnboundError extends CloudsError {
  declare readonly path: string;
  static override fieldNames = ["path"];
}

for (const cls of [ClusterNotRunningError, UnknownServerError, NameUnboundError]) registerError(cls);
