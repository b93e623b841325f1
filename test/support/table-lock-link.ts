/**
 * TableLockLink: a LockLink straight into an in-process LockTable — the homes' locks of a
 * unit test, as if every object's home were one data server and the kernel compute server
 * `server`. Calls are recorded (`calls`); `failReleases` makes the next releases reject.
 */
import type { ServerId } from "../../ra-kernel/ids.js";
import type { LockLink, LockReleaseRequest, LockRequest } from "../../ra-kernel/lock-manager.js";
import { LockTable } from "../../servers/data/lock-table.js";

export interface LockCall {
  op: "acquire" | "release";
  home: ServerId;
  body: LockRequest | LockReleaseRequest;
}

export class TableLockLink implements LockLink {
  readonly calls: LockCall[] = [];
  failReleases = 0;

  constructor(readonly table = new LockTable(), readonly server = "cs-test") {}

  acquire(home: ServerId, body: LockRequest): Promise<{ granted: true; waitedMs: number }> {
    this.calls.push({ op: "acquire", home, body: structuredClone(body) });
    return this.table.acquire(body, this.server);
  }

  async release(home: ServerId, body: LockReleaseRequest): Promise<{ released: boolean }> {
    this.calls.push({ op: "release", home, body: structuredClone(body) });
    if (this.failReleases > 0) {
      this.failReleases--;
      throw new Error(`home ${home} unreachable`);
    }
    return this.table.release(body, this.server);
  }

  /** The calls of one kind, as "op kind key thread". */
  trace(): string[] {
    return this.calls.map((c) => `${c.op} ${c.body.lock} ${c.body.key} ${c.body.thread}`);
  }
}
