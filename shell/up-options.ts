/**
 * Options of `clouds up` (shell/cluster-launcher.ts), as the command line passes them.
 */
export interface UpOptions {
  /** The cluster directory: state, logs, token and cluster.json. @default ".clouds" */
  dir: string;
  /** Compute servers of a new cluster (a repair keeps the recorded ones). @default 2 */
  compute: number;
  /** Data servers of a new cluster (a repair keeps the recorded ones). @default 1 */
  data: number;
  /** Isiba workers per compute server. @default the server's own (2) */
  workers?: number;
  /** The JavaScript heap of each isiba worker (MiB). @default the server's own (1024) */
  workerHeapMb?: number;
  /** Compute servers' page cache bound (MiB). @default 256 */
  cacheMb?: number;
  /** Compute servers' bound on active objects. @default 2000 */
  maxActive?: number;
  /** Data servers' commit: "power" (synchronous=FULL) or "process". @default "power" */
  durability?: "power" | "process";
  /** Progress lines go here. @default nowhere */
  say?: (line: string) => void;
}
