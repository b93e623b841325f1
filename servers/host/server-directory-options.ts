/**
 * Options of a ServerDirectory: how long it waits for the name server before it answers from
 * what it last knew (registry calls) or fails clearly (name calls).
 */
export interface ServerDirectoryOptions {
  /**
   * Longest wait for a registry call (`list`, `registry`, `address` of an uncached id). When
   * the name server does not answer in time, the last known registry is served instead and
   * later calls answer from it at once while one request at a time asks again behind them.
   * @default 1500
   */
  registryTimeoutMs?: number;
  /**
   * Longest wait for one call of the NameClient `names()` returns (lookups, binds, lists):
   * after it, a NameServerUnreachableError. A little longer than registry calls: binds commit
   * to disk. It bounds what the first invocation in an outage waits (a compute server asks
   * the name server for a class's newest version now and then).
   * @default 5000
   */
  nameTimeoutMs?: number;
}
