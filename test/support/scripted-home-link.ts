/**
 * ScriptedHomeLink: a DsmClient HomeLink whose every call waits for the test to answer it.
 *
 * Each `readPage` and `commit` is recorded with a Deferred reply. A test awaits the n-th
 * call (`read(n)`, `commit(n)`) — made now or later, e.g. by a retry — and resolves or
 * rejects it when it chooses, so races such as an invalidation overtaking a fetch can be
 * played out in a fixed order.
 */
import type { FetchedPage, HomeLink } from "../../ra-kernel/dsm-client.js";
import type { PageNo, ServerId, SysName } from "../../ra-kernel/ids.js";
import type { AccessMode } from "../../ra-kernel/page-state.js";
import { deferred, type Deferred } from "./deferred.js";

export interface ReadCall {
  home: ServerId;
  segment: SysName;
  page: PageNo;
  mode: AccessMode;
  reply: Deferred<FetchedPage>;
}

export interface CommitCall {
  home: ServerId;
  pages: { segment: SysName; page: PageNo; bytes: Uint8Array }[];
  reply: Deferred<{ epoch: number }>;
}

export class ScriptedHomeLink implements HomeLink {
  readonly reads: ReadCall[] = [];
  readonly commits: CommitCall[] = [];
  private readonly waiters: Array<() => void> = [];

  readPage(home: ServerId, segment: SysName, page: PageNo, mode: AccessMode): Promise<FetchedPage> {
    const call: ReadCall = { home, segment, page, mode, reply: deferred() };
    this.reads.push(call);
    this.wake();
    return call.reply.promise;
  }

  commit(home: ServerId, pages: CommitCall["pages"]): Promise<{ epoch: number }> {
    const call: CommitCall = { home, pages, reply: deferred() };
    this.commits.push(call);
    this.wake();
    return call.reply.promise;
  }

  /** The n-th readPage call (0-based), once it has been made. */
  read(n: number): Promise<ReadCall> {
    return this.when(() => this.reads[n]);
  }

  /** The n-th commit call (0-based), once it has been made. */
  commitCall(n: number): Promise<CommitCall> {
    return this.when(() => this.commits[n]);
  }

  private when<T>(get: () => T | undefined): Promise<T> {
    return new Promise((resolve) => {
      const check = (): void => {
        const v = get();
        if (v !== undefined) resolve(v);
        else this.waiters.push(check);
      };
      check();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
