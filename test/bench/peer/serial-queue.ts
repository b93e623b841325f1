/**
 * SerialQueue: runs async functions one at a time, in the order they were queued.
 *
 *   const queue = new SerialQueue();
 *   const count = await queue.run(() => dataSource.transaction(...));
 *
 * Why the peer baseline needs it: TypeORM's better-sqlite3 driver has one connection and
 * one query runner for the whole DataSource, and `dataSource.transaction()` is async (every
 * query is awaited). Two transactions started in the same tick share the runner: the second
 * one's BEGIN fails ("cannot start a transaction within a transaction") or becomes a
 * SAVEPOINT inside the first, and their statements interleave (200 increments started at
 * once: every one of them failed). Behind HTTP it happens to hold without a queue, since
 * better-sqlite3 is synchronous, so a transaction's awaits are microtasks and it runs to
 * its end within the request's own I/O callback — an accident of scheduling, not a
 * guarantee (a handler that awaited anything else first would break it). SQLite admits one
 * writer at a time anyway: queueing the transactions says so, and costs a promise.
 *
 * A function that throws rejects its own `run` only; the queue goes on with the next one.
 */
export class SerialQueue {
  /** Settles when the last queued function has settled (never rejects). */
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
