/**
 * NestedInvocations: the compute server's InvocationLink — what object code's `this.bind`,
 * `ref.entry(args)` and `this.print` become once their syscall reaches the kernel.
 *
 *   bind(name)            the name server's binding of `name` (an object), its sysname
 *   invoke(from, call)    a nested invocation on from's thread, depth + 1, placed by the
 *                         Placer (hint `call.at` > warm here > warm elsewhere > lighter of
 *                         two random), run here or sent with compute.invoke; its value and
 *                         where it ran. A server found unreachable before the call left is
 *                         avoided and the call placed again (Placer); one lost while the call
 *                         was out fails with ServerUnreachableError, and the calls placed after
 *                         carry it (`after`) until one returned (Placer); the failure reaches the
 *                         caller only once the homes settled that server. Errors come back as the named CloudsError thrown
 *                         at the far end, keeping its server and stack (they are relayed
 *                         as they are, hop by hop, up to the workstation).
 *   print(from, text)     towards the thread's workstation (ThreadRoutes)
 *
 * A frame of an atomic thread (AtomicUnits) invokes in that thread: the call runs here, where
 * the thread's unit is, or on the compute server a location hint names, in a branch of the
 * thread there (invokeAtomic).
 *
 * A thread may re-enter an object it is already in (A -> B -> A): nothing here waits for
 * the outer invocation, and the homes' monitors and locks are reentrant per thread id.
 * Depth is bounded (MAX_INVOCATION_DEPTH): a runaway recursion fails with
 * InvocationDepthError instead of exhausting the cluster.
 */
import { newThreadId, type ServerId, type SysName, type ThreadId } from "../../ra-kernel/ids.js";
import type { InvocationLink } from "../../ra-kernel/kernel-syscalls.js";
import type { SyscallContext } from "../../ra-kernel/isiba-pool.js";
import type { SyscallArgs, SyscallResult } from "../../ra-kernel/isiba-messages.js";
import type { InvocationInput } from "../../ra-kernel/user-object-manager.js";
import type { AtomicContext } from "../../ra-kernel/atomic-units.js";
import type { ServerDirectory } from "../host/server-directory.js";
import type { PeerCache } from "../transport/peer-cache.js";
import { normalizePath } from "../name/name-directory.js";
import { openPeer, type PlacedCall, type Placer } from "../placement/placer.js";
import { afterField } from "../placement/unsettled-servers.js";
import { ServerUnreachableError } from "../transport/errors.js";
import type { ServerLoad } from "../placement/load-report.js";
import { ComputeClient, MAX_INVOCATION_DEPTH } from "./protocol.js";
import { InvocationDepthError, UnknownNameError } from "./errors.js";
import type { ThreadRoutes } from "./thread-routes.js";
import type { SpawnedThreads } from "./spawned-threads.js";

/** The workstation a thread id names (`t:<origin>:<ulid>`): a spawned thread keeps it. */
function originOf(thread: string): string {
  const m = /^t:([^:]+):/.exec(thread);
  return m ? m[1] : "kernel";
}

export interface NestedInvocationDeps {
  /** This compute server. */
  id: ServerId;
  servers: ServerDirectory;
  peers: PeerCache;
  routes: ThreadRoutes;
  /** Places each nested invocation (with `id` as "here"). */
  placer: Placer;
  /** Waits until the homes settled these servers, lost with an earlier call (Placer: `after`). */
  settle(after: string[]): Promise<void>;
  /** Runs an invocation here (the UserObjectManager, counted as an invocation). */
  runLocal(input: InvocationInput): Promise<unknown>;
  /** Threads spawned here by object code, kept for join. */
  spawned: SpawnedThreads;
  /** A thread was spawned here: its workstation is told its parent (FrameReports) unless `end` came first. */
  noteSpawn?(child: ThreadId, parent: ThreadId, end: Promise<unknown>): void;
  /** The deadline of a thread running here, if it has one (ThreadFrames): nested invocations inherit it. */
  deadlineOf(thread: ThreadId): number | undefined;
  /** The atomic thread an isiba's frame belongs to, if any (UserObjectManager). */
  atomicOf(isiba: number): AtomicContext | undefined;
  /** Refreshes this server's own load and the target's pages here in the table, before a decision. */
  noteHere(object: SysName): void;
  /** What a remote compute.invoke reply said: its server's load and the target's pages there. */
  noteReply(server: string, load: ServerLoad, object: SysName, pages: number | undefined): void;
}

export class NestedInvocations implements InvocationLink {
  constructor(private readonly deps: NestedInvocationDeps) {}

  async bind(name: string): Promise<SysName> {
    const path = normalizePath(name);
    const binding = await (await this.deps.servers.names()).lookup(path);
    if (!binding || binding.kind !== "object" || !binding.sysname) {
      throw new UnknownNameError(binding ? `${path} is a ${binding.kind}, not an object` : `no object named ${path}`, { path });
    }
    return binding.sysname;
  }

  async invoke(from: SyscallContext, call: SyscallArgs<"object.invoke">): Promise<SyscallResult<"object.invoke">> {
    const depth = from.depth + 1;
    checkDepth(from.thread, depth, `${call.entry} on ${call.target}`);
    const atomic = this.deps.atomicOf(from.isiba);
    if (atomic) return this.invokeAtomic(from, call, depth, atomic);
    const hint = call.at === undefined ? undefined : (call.at as ServerId);
    if (hint === undefined) this.deps.noteHere(call.target);
    const placed = { thread: from.thread, depth, object: call.target, entry: call.entry, hint };
    try {
      return await this.place(placed, from.thread, call);
    } catch (err) {
      // Lost with its server: the caller hears of it once that server is settled, so its own
      // next reads (in any object) cannot see the lost call's uncommitted words either.
      if (err instanceof ServerUnreachableError && err.peer) await this.deps.settle([err.peer]).catch(() => undefined);
      throw err;
    }
  }

  /**
   * A frame of an atomic thread invokes in that thread: here, unless a location hint names
   * another compute server — then the frame runs there, in a branch of the thread joined to
   * its coordinator (ra-kernel/atomic-branches.ts). No placement policy: the thread's writes
   * stay where it runs unless the programmer says otherwise.
   */
  private async invokeAtomic(from: SyscallContext, call: SyscallArgs<"object.invoke">, depth: number, atomic: AtomicContext): Promise<SyscallResult<"object.invoke">> {
    const inherited = this.deps.deadlineOf(from.thread);
    const thread = { id: from.thread, depth, atomic: { ...atomic, coordinator: atomic.coordinator ?? this.deps.id }, ...(inherited !== undefined ? { deadline: inherited } : {}) };
    const hint = call.at === undefined ? undefined : (call.at as ServerId);
    if (hint === undefined || hint === this.deps.id) {
      return { value: await this.deps.runLocal({ object: call.target, entry: call.entry, args: call.args, thread }), server: this.deps.id };
    }
    const compute = new ComputeClient(await openPeer(this.deps.peers, hint, await this.deps.servers.address(hint)));
    const deadline = this.deps.deadlineOf(from.thread);
    const body = { thread: from.thread, depth, target: call.target, entry: call.entry, args: call.args, atomic: thread.atomic, ...(deadline !== undefined ? { deadline } : {}) };
    const reply = await compute.call("compute.invoke", body, { timeoutMs: Infinity });
    return { value: reply.value, server: reply.server };
  }

  /** Places the call (Placer) and runs it here or sends it (see header). */
  private place(placed: PlacedCall, thread: ThreadId, call: SyscallArgs<"object.invoke">): Promise<SyscallResult<"object.invoke">> {
    const { id, placer, peers } = this.deps;
    const depth = placed.depth;
    return placer.run(placed, async (server, address, _decision, after) => {
      if (server === id) {
        if (after.length > 0) await this.deps.settle(after);
        const deadline = this.deps.deadlineOf(thread);
        return { value: await this.deps.runLocal({ object: call.target, entry: call.entry, args: call.args, thread: { id: thread, depth, ...(deadline !== undefined ? { deadline } : {}) } }), server: id };
      }
      const compute = new ComputeClient(await openPeer(peers, server, address));
      const deadline = this.deps.deadlineOf(thread);
      const body = { thread, depth, target: call.target, entry: call.entry, args: call.args, ...(deadline !== undefined ? { deadline } : {}), ...afterField(after) };
      const reply = await compute.call("compute.invoke", body, { timeoutMs: Infinity });
      this.deps.noteReply(reply.server, reply.load, call.target, reply.warm);
      return { value: reply.value, server: reply.server };
    });
  }

  /**
   * Starts the invocation as a new thread, child of `from`'s (same workstation in its id): it
   * is placed as any invocation, its lines go where its parent's go, and its end is kept for
   * `join` (SpawnedThreads). Answers once started, not once done.
   */
  async spawn(from: SyscallContext, call: SyscallArgs<"thread.spawn">): Promise<SyscallResult<"thread.spawn">> {
    const child = newThreadId(originOf(from.thread));
    const hint = call.at === undefined ? undefined : (call.at as ServerId);
    const released = this.deps.routes.adopt(child, from.thread);
    const placed = { thread: child, depth: 0, object: call.target, entry: call.entry, hint };
    const end = this.place(placed, child, call).then((r) => r.value);
    void end.then(released, released);
    this.deps.spawned.track(child, end);
    this.deps.noteSpawn?.(child, from.thread, end);
    return { id: child };
  }

  async join(_from: SyscallContext, id: string): Promise<SyscallResult<"thread.join">> {
    return { value: await this.deps.spawned.join(id) };
  }

  async print(from: SyscallContext, text: string): Promise<SyscallResult<"thread.print">> {
    return { delivered: await this.deps.routes.print(from.thread, text) };
  }
}

/** Refuses an invocation deeper than MAX_INVOCATION_DEPTH with a clear error. */
export function checkDepth(thread: ThreadId | string, depth: number, what: string): void {
  if (depth > MAX_INVOCATION_DEPTH) {
    throw new InvocationDepthError(
      `${what}: thread ${thread} would be ${depth} invocations deep (at most ${MAX_INVOCATION_DEPTH}; runaway recursion?)`,
      { thread, depth },
    );
  }
}
