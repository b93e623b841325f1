/**
 * HomeLocks: the compute server's LockLink — the kernel's LockManager reaching each object's
 * home (its data server's LockTable) with data.lock.acquire / data.lock.release.
 *
 * An acquire waits as long as the home makes it wait (no timeout: FIFO queues can be long);
 * it fails only if the connection to the home closes, in which case the home has dropped
 * whatever this compute server held or waited for there. Both carry our lease term with the
 * home (fencing: a term that is over is refused).
 */
import type { ServerId } from "../../ra-kernel/ids.js";
import type { LockLink, LockReleaseRequest, LockRequest } from "../../ra-kernel/lock-manager.js";
import type { DataHomes } from "./data-homes.js";

export class HomeLocks implements LockLink {
  constructor(private readonly homes: DataHomes) {}

  async acquire(home: ServerId, body: LockRequest): Promise<{ granted: true; waitedMs: number }> {
    const client = await this.homes.client(home);
    return client.call("data.lock.acquire", { ...body, term: this.homes.term(home) }, { timeoutMs: Infinity });
  }

  async release(home: ServerId, body: LockReleaseRequest): Promise<{ released: boolean }> {
    const client = await this.homes.client(home);
    return client.call("data.lock.release", { ...body, term: this.homes.term(home) });
  }
}
