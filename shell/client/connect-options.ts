/**
 * Options of `connect()`.
 */
export interface ConnectOptions {
  /** The cluster directory (holds cluster.json and token). @default ".clouds" */
  dir?: string;
  /** Path of cluster.json; its directory is the cluster directory. Overrides `dir`. */
  clusterFile?: string;
  /** How this workstation names itself to servers. @default "ws:<pid>" */
  workstation?: string;
  /** Per-request timeout (ms). @default 30000 */
  timeoutMs?: number;
}
