/**
 * WriteLane: runs the writers of one SQLite connection one after the other.
 *
 * SqliteSegmentStore has one connection, shared by TypeORM (whose transactions span several
 * awaits, on one shared query runner) and by the page hot path (better-sqlite3 transactions,
 * synchronous). Two writers interleaving on it would nest one transaction inside the other:
 * a TypeORM rollback would then undo pages whose commit was already acknowledged. Every write
 * transaction therefore runs through the lane; reads do not (they never wait).
 *
 * Rule: a task's failure goes to its own caller only; the lane moves on to the next task.
 */
export class WriteLane {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled. */
  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves once every task queued so far has settled. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
