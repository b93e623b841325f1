/**
 * Tests of KernelSyscalls (ra-kernel/kernel-syscalls.ts), the kernel's dispatch of object
 * code's syscalls, and of SyscallChannel (ra-kernel/syscall-channel.ts), the worker's end,
 * both without workers.
 */
import { expect } from "chai";
import { KernelSyscalls } from "../../ra-kernel/kernel-syscalls.js";
import { LockManager } from "../../ra-kernel/lock-manager.js";
import { SyscallChannel } from "../../ra-kernel/syscall-channel.js";
import { BadSyscallError, UnknownSyscallError } from "../../ra-kernel/syscall-errors.js";
import { toWireError } from "../../ra-kernel/clouds-error.js";
import { asServerId, newSysName, newThreadId } from "../../ra-kernel/ids.js";
import type { SyscallCall, SyscallRequest } from "../../ra-kernel/isiba-messages.js";
import type { SyscallContext } from "../../ra-kernel/isiba-pool.js";
import { LockNotHeldError } from "../../servers/data/errors.js";
import { TableLockLink } from "../support/table-lock-link.js";
import { expectRejection } from "../support/expect-rejection.js";
import { deferred, isPending, type Deferred } from "../support/deferred.js";
import { PagesLostError } from "../../ra-kernel/errors.js";
import type { SegmentLog } from "../../ra-kernel/write-log.js";

describe("KernelSyscalls", () => {
  let link: TableLockLink;
  let syscalls: KernelSyscalls;
  const ctx: SyscallContext = { isiba: 3, object: newSysName(asServerId("ds2")), thread: newThreadId("ws"), depth: 0, entry: "m", since: 4 };

  beforeEach(() => {
    link = new TableLockLink();
    syscalls = new KernelSyscalls(new LockManager(link));
  });

  it("should lock the isiba's own object as its own thread, whatever the arguments say", async () => {
    const call = { op: "lock.acquire", args: { key: "k", lock: "lock", object: "sys:ds9:X", thread: "evil" } } as unknown as SyscallCall;
    expect(await syscalls.handle(ctx, call)).to.deep.include({ waitedMs: 0 });
    expect(link.calls[0]).to.deep.equal({ op: "acquire", home: "ds2", body: { object: ctx.object, key: "k", lock: "lock", thread: ctx.thread, permits: undefined } });
  });

  it("should pass a semaphore's permits and release it", async () => {
    await syscalls.handle(ctx, { op: "lock.acquire", args: { key: "s", lock: "semaphore", permits: 4 } });
    expect(await syscalls.handle(ctx, { op: "lock.release", args: { key: "s", lock: "semaphore" } })).to.deep.equal({ released: true });
    expect(link.table.list(ctx.object)[0]).to.include({ available: 4 });
  });

  it("should refuse the monitor, bad keys and bad permits with BadSyscallError", async () => {
    const bad: unknown[] = [
      { op: "lock.acquire", args: { key: "monitor", lock: "monitor" } },
      { op: "lock.acquire", args: { key: "", lock: "lock" } },
      { op: "lock.acquire", args: { key: "x".repeat(129), lock: "lock" } },
      { op: "lock.release", args: { key: 5, lock: "lock" } },
      { op: "lock.acquire", args: { key: "s", lock: "semaphore", permits: -1 } },
      { op: "lock.acquire", args: { key: "s", lock: "semaphore", permits: 1.5 } },
    ];
    for (const call of bad) await expectRejection(syscalls.handle(ctx, call as SyscallCall), BadSyscallError);
    expect(link.calls).to.deep.equal([]);
  });

  it("should refuse an unknown op with UnknownSyscallError naming it", async () => {
    const err = await expectRejection(syscalls.handle(ctx, { op: "fork", args: {} } as unknown as SyscallCall), UnknownSyscallError);
    expect(err.op).to.equal("fork");
  });

  it("should pass on the home's named error", async () => {
    await expectRejection(syscalls.handle(ctx, { op: "lock.release", args: { key: "k", lock: "lock" } }), LockNotHeldError);
  });

  describe("commit points", () => {
    const segment: SegmentLog[] = [{ segment: newSysName(asServerId("ds2")), pages: [{ page: 0, log: new Uint8Array(8) }] }];
    let commits: { isiba: number; since: number; segment: SegmentLog[]; heldThen: number }[];
    let gate: Deferred<void>;

    beforeEach(async () => {
      commits = [];
      gate = deferred();
      syscalls.committer = {
        commitPoint: async (isiba, since, seg) => {
          commits.push({ isiba, since, segment: seg, heldThen: link.table.list(ctx.object)[0]?.holders.length ?? 0 });
          await gate.promise;
          return since + 1;
        },
      };
      await syscalls.handle(ctx, { op: "lock.acquire", args: { key: "k", lock: "lock" } });
    });

    it("should commit the segment a release carries before releasing the lock", async () => {
      const release = syscalls.handle(ctx, { op: "lock.release", args: { key: "k", lock: "lock", log: segment } });
      expect(await isPending(release)).to.equal(true);
      expect(commits).to.deep.equal([{ isiba: 3, since: 4, segment, heldThen: 1 }]);
      expect(link.calls.map((c) => c.op), "not released before the commit").to.deep.equal(["acquire"]);
      gate.resolve();
      expect(await release, "and tells the worker where its next segment begins").to.deep.equal({ released: true, since: 5 });
      expect(link.table.list(ctx.object)).to.deep.equal([]);
    });

    it("should release at once when the segment is empty", async () => {
      expect(await syscalls.handle(ctx, { op: "lock.release", args: { key: "k", lock: "lock", log: [] } })).to.deep.equal({ released: true });
      expect(commits).to.deep.equal([]);
    });

    it("should release the lock even when the commit fails, and throw the commit's error", async () => {
      const release = syscalls.handle(ctx, { op: "lock.release", args: { key: "k", lock: "lock", log: segment } });
      gate.reject(new PagesLostError("NOT applied", { server: "ds2", pages: 1 }));
      await expectRejection(release, PagesLostError);
      expect(link.table.list(ctx.object), "the next holder is not kept waiting").to.deep.equal([]);
    });
  });
});

describe("SyscallChannel", () => {
  it("should post numbered requests and settle each by its call id", async () => {
    const posted: SyscallRequest[] = [];
    const channel = new SyscallChannel((req) => posted.push(req));
    const a = channel.call(1, "lock.acquire", { key: "a", lock: "lock" });
    const b = channel.call(2, "lock.release", { key: "b", lock: "lock" });
    expect(posted.map((p) => [p.type, p.isiba, p.op])).to.deep.equal([["sys", 1, "lock.acquire"], ["sys", 2, "lock.release"]]);
    expect(channel.inFlight).to.equal(2);
    channel.settle({ type: "sysReply", call: posted[1].call, ok: true, value: { released: true } });
    channel.settle({ type: "sysReply", call: posted[0].call, ok: true, value: { waitedMs: 5 } });
    expect(await a).to.deep.equal({ waitedMs: 5 });
    expect(await b).to.deep.equal({ released: true });
    expect(channel.inFlight).to.equal(0);
  });

  it("should reject with the rebuilt named error and ignore unknown call ids", async () => {
    const posted: SyscallRequest[] = [];
    const channel = new SyscallChannel((req) => posted.push(req));
    const a = channel.call(1, "lock.acquire", { key: "a", lock: "lock" });
    channel.settle({ type: "sysReply", call: 999, ok: true });
    const wire = toWireError(new UnknownSyscallError("nope", { op: "x" }), "cs1");
    channel.settle({ type: "sysReply", call: posted[0].call, ok: false, error: wire });
    const err = await expectRejection(a, UnknownSyscallError);
    expect(err.server).to.equal("cs1");
  });

  it("should reject a call whose request cannot be posted", async () => {
    const channel = new SyscallChannel(() => {
      throw new Error("could not be cloned");
    });
    await expectRejection(channel.call(1, "lock.acquire", { key: "a", lock: "lock" }), Error);
    expect(channel.inFlight).to.equal(0);
  });
});
