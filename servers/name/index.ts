/** The name server role: contract, implementations, protocol and request logic. */
export * from "./errors.js";
export * from "./name-directory.js";
export { TreeNameDirectory, type BindingRows } from "./tree-name-directory.js";
export { SqliteNameDirectory } from "./sqlite-name-directory.js";
export { InMemoryNameDirectory } from "./in-memory-name-directory.js";
export * from "./protocol.js";
export type { NameServerOptions } from "./name-server-options.js";
export { NameServer } from "./name-server.js";
