/**
 * ScriptedHomeLink: a DsmClient HomeLink whose every call waits for the test to answer it.
 *
 * Each `fault` and `commit` is recorded with a Deferred reply. A test awaits the n-th call
 * (`faultCall(n)`, `commitCall(n)`) — made now or later, e.g. by a retry — and resolves or
 * rejects it when it chooses, so races such as a recall overtaking the grant it follows can
 * be played out in a fixed order. `grant(...)` builds a Grant with the usual defaults;
 * `applied` / `refused(reason)` the two answers a home gives to a commit.
 */
import type { CommitReply, CommitRequest, DropRequest, Grant, HomeLink, PageCommit, ReleaseRequest } from "../../ra-kernel/home-link.js";
import type { PageNo, ServerId, SysName } from "../../ra-kernel/ids.js";
import type { AccessMode } from "../../ra-kernel/page-state.js";
import { deferred, type Deferred } from "./deferred.js";

export interface FaultCall {
  home: ServerId;
  segment: SysName;
  page: PageNo;
  mode: AccessMode;
  have: number;
  /** Asked for with a write run (see DsmClient): absent for one page. */
  count?: number;
  reply: Deferred<Grant>;
}

export interface CommitCall extends CommitRequest {
  home: ServerId;
  pages: PageCommit[];
  reply: Deferred<CommitReply>;
}

/** A grant: `bytes` (null: zeros) of `version`, not `same`, stamp 0, epoch 1, term 1 unless given. */
export function grant(version: number, bytes: Uint8Array | null, extra: Partial<Grant> = {}): Grant {
  return { bytes, same: false, version, stamp: 0, epoch: 1, term: 1, ...extra };
}

/** A home's answer to a commit it applied. */
export function applied(epoch = 1): CommitReply {
  return { applied: true, epoch };
}

/** A home's answer to a commit it refused (nothing applied). */
export function refused(reason: string, epoch = 1): CommitReply {
  return { applied: false, epoch, reason };
}

export class ScriptedHomeLink implements HomeLink {
  readonly faults: FaultCall[] = [];
  readonly commits: CommitCall[] = [];
  private readonly waiters: Array<() => void> = [];

  fault(home: ServerId, segment: SysName, page: PageNo, mode: AccessMode, have: number, count?: number): Promise<Grant> {
    const call: FaultCall = { home, segment, page, mode, have, ...(count === undefined ? {} : { count }), reply: deferred() };
    this.faults.push(call);
    this.wake();
    return call.reply.promise;
  }

  /** Pages given back by evictions, answered at once with `releaseAnswer`. */
  readonly releases: ReleaseRequest[] = [];
  releaseAnswer = true;

  release(_home: ServerId, req: ReleaseRequest): Promise<{ released: boolean }> {
    this.releases.push(structuredClone(req));
    return Promise.resolve({ released: this.releaseAnswer });
  }

  /** Read copies dropped by evictions, batch by batch (answered at once). */
  readonly drops: DropRequest[] = [];

  drop(_home: ServerId, req: DropRequest): Promise<{ dropped: number }> {
    this.drops.push(structuredClone(req));
    return Promise.resolve({ dropped: req.pages.length });
  }

  commit(home: ServerId, req: CommitRequest): Promise<CommitReply> {
    const call: CommitCall = { home, ...structuredClone(req), reply: deferred() };
    this.commits.push(call);
    this.wake();
    return call.reply.promise;
  }

  /** The n-th fault call (0-based), once it has been made. */
  faultCall(n: number): Promise<FaultCall> {
    return this.when(() => this.faults[n]);
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
