/**
 * Options of `connect()`.
 */
import type { PlacementOptions } from "../../servers/placement/placement-options.js";

/** How this workstation places invocations (see PlacementOptions for the knobs). */
export interface ClientPlacementOptions extends PlacementOptions {
  /**
   * "working-set": hint > warm working set > lighter of two random (DESIGN §8);
   * "random": uniformly random (a baseline for benchmarks).
   * @default "working-set"
   */
  policy?: "working-set" | "random";
}

export interface ConnectOptions {
  /** The cluster directory (holds cluster.json and token). @default ".clouds" */
  dir?: string;
  /** Path of cluster.json; its directory is the cluster directory. Overrides `dir`. */
  clusterFile?: string;
  /** How this workstation names itself to servers. @default "ws:<pid>" */
  workstation?: string;
  /** Per-request timeout (ms). @default 30000 */
  timeoutMs?: number;
  /**
   * Receives each line `this.print(...)` writes in a thread this workstation started
   * (also from nested invocations on other compute servers), as it arrives — before the
   * invocation's result. `cluster.on("print", ...)` listeners get them too.
   * @default write the line to process.stdout when nobody listens
   */
  onPrint?: (thread: string, text: string) => void;
  /** Placement policy and knobs. @default the working-set policy with PLACEMENT_DEFAULTS */
  placement?: ClientPlacementOptions;
}
