/** The workstation client ("clouds-ts/client"). Re-exports only. */
export { connect, Cluster, CLASSES_DIR, type LoadResult, type LoadOptions, type InvokeOptions } from "./cluster.js";
export type { ConnectOptions } from "./connect-options.js";
export type { Remote } from "./remote.js";
export * from "./errors.js";
