/**
 * The isiba worker: a worker thread of a compute server's isiba pool.
 *
 * Each RunRequest from the kernel thread is one isiba: it maps the object's segments
 * (MappedSegment over the kernel's shared frames), loads the class (ClassLoader), and
 * either runs the constructor (op "create"), calls an entry (op "call") on the object's
 * InstanceProxy, or fills in the fields a newer class version adds (op "upgrade").
 * Field accesses fault pages in synchronously through the FaultChannel.
 * Several isibas may be in progress in one worker when entries await; code between two
 * awaits runs to completion.
 *
 * Each isiba logs its writes (WriteLog, DESIGN §7a): the reply carries its last commit
 * segment's log, also on failure (what an entry wrote before it threw stays written, as
 * README documents), and a lock release sends the segment so far with the syscall (release
 * is a commit point). Heap blocks the entry detached are freed only once the kernel says its
 * final commit was applied (Committed), as a segment of their own (Freed); dropped if not
 * (objects/deferred-frees.ts).
 *
 * Each isiba gets an InvocationContext (its object, thread and a way to make syscalls over
 * this worker's SyscallChannel), given to its InstanceProxy: `this.lock(...)` in object code
 * becomes a syscall the kernel thread serves while the isiba awaits. The isiba runs inside
 * that context (runInInvocation), so object references made while it runs (read from a
 * field, decoded from an argument, a nested invocation's result) invoke on its thread:
 * the worker installs the reference factory (setRefFactory) that makes callable Refs.
 * Arguments arrive and results leave with references in wire form (`{ $ref }`).
 *
 * Object code is confined (hardened-realm.ts): the worker locks its realm down first, and
 * the ClassLoader evaluates each class in a Compartment of its own.
 *
 * Rules: this file runs only inside a worker; it never touches sockets or files.
 */
import { fieldSnapshot, type SnapshotOptions } from "../objects/field-snapshot.js";
import { parentPort, workerData } from "node:worker_threads";
import createDebug from "debug";
import { toWireError } from "./clouds-error.js";
import { ClassLoader, evaluateModule } from "./class-loader.js";
import { evaluateInCompartment, explainConfinement, lockdownRealm } from "./hardened-realm.js";
import { objectCodeConfined } from "./confinement-switch.js";
import { FaultChannel } from "./fault-channel.js";
import { MappedSegment } from "./mapped-segment.js";
import type { SysName } from "./ids.js";
import type { Committed, Freed, KernelMessage, MemoryAnswer, RunReply, RunRequest, WorkerInit } from "./isiba-messages.js";
import { requireWriteLog, runLogging, WriteLog } from "./write-log.js";
import { setWriterLedger, WriterLedger } from "./writer-ledger.js";
import { SyscallChannel } from "./syscall-channel.js";
import { checkValueSize } from "./value-size.js";
// Registers the syscall errors here too, so they cross the worker with their fields.
import "./syscall-errors.js";
import type { SegmentShare } from "./segment-frames.js";
import { NotTransferableError, UnknownEntryError } from "./errors.js";
import { PersistentStore } from "../objects/persistent-store.js";
import { constructWith } from "../objects/clouds-object.js";
import { instanceProxy } from "../objects/instance-proxy.js";
import { currentInvocation, runInInvocation, type InvocationContext } from "../objects/invocation-context.js";
import { refTo, setRefFactory } from "../objects/object-ref.js";
import { decodeRefs, encodeRefs } from "../objects/ref-codec.js";
import { toPlain } from "../objects/to-plain.js";
import { DeferredFrees, runDeferringFrees } from "../objects/deferred-frees.js";
import { setAllocatorServer } from "../objects/heap.js";
import { makeRef } from "../objects/ref.js";
import { entriesOf } from "../objects/entry.js";
import { fillNewFields } from "../objects/class-upgrade.js";
import { WorkerVolatileStores } from "./worker-volatile-stores.js";
import { GarbageCollector } from "./garbage-collector.js";

// Object code runs in compartments of a locked-down realm: before anything else runs here.
const confined = objectCodeConfined();
if (confined) lockdownRealm();
const log = createDebug("ra:isiba-worker");
const init = workerData as WorkerInit;
const faults = new FaultChannel(init.faultPort, new Int32Array(init.doorbell));
setWriterLedger(new WriterLedger(init.ledger));
requireWriteLog();
setAllocatorServer(init.serverId);
const syscalls = new SyscallChannel((req) => parentPort!.postMessage(req));

// A promise object code forgot to await (say an un-awaited `this.lock(k)` refused after its
// invocation returned) must not kill the worker and every other isiba in it.
process.on("unhandledRejection", (reason) => log("unhandled rejection in object code: %s", (reason as Error)?.message ?? String(reason)));
setRefFactory((sysname) => makeRef(sysname, currentInvocation()));
const loader = new ClassLoader(confined ? evaluateInCompartment : evaluateModule);
const segments = new Map<SysName, MappedSegment>();
const stores = new Map<SysName, PersistentStore>();

function mapSegment(ref: SegmentShare | SysName): MappedSegment {
  if (typeof ref === "string") {
    const mapped = segments.get(ref);
    if (!mapped) throw new Error(`segment ${ref} is not mapped in this worker`);
    return mapped;
  }
  const mapped = new MappedSegment(ref, faults);
  segments.set(ref.sysname, mapped);
  return mapped;
}

const volatiles = new WorkerVolatileStores(mapSegment, (sysname) => segments.delete(sysname));

/** Page tables dropped here are collected every so many (see GarbageCollector). */
const collector = new GarbageCollector(512);

/** The kernel dropped these segments (and deactivated `object`): a later run shares them anew. */
function forget(dropped: SysName[], object?: SysName): void {
  volatiles.forget(dropped);
  for (const s of dropped) segments.delete(s);
  if (object) stores.delete(object);
  collector.released(dropped.length);
}

/** An isiba's current commit segment and the frees it queued, until its final commit is answered. */
interface Segmented {
  log: WriteLog;
  frees: DeferredFrees;
}
const running = new Map<number, Segmented>();

function storeFor(req: RunRequest): { store: PersistentStore; mem: MappedSegment[] } {
  const data = mapSegment(req.data);
  const heap = mapSegment(req.heap);
  let store = stores.get(req.object);
  if (!store) {
    store = new PersistentStore(data, heap);
    stores.set(req.object, store);
  }
  return { store, mem: [data, heap] };
}

function invocationContext(req: RunRequest, seg: Segmented): InvocationContext {
  return {
    object: req.object, thread: req.thread,
    syscall: (op, args) => {
      if (op !== "lock.release") return syscalls.call(req.id, op, args);
      // A release is a commit point: the segment so far goes with it, the next one begins.
      // If it was not applied, the blocks it detached are still referenced: never free them.
      const broken = seg.log.takeBroken();
      const released = syscalls.call(req.id, op, { ...(args as object), log: seg.log.take(), broken } as typeof args);
      released.then((r) => {
        const since = (r as { since?: number }).since;
        if (since !== undefined) seg.log.since = since;
      }, () => seg.frees.discard());
      return released;
    },
  };
}

async function execute(req: RunRequest, store: PersistentStore, seg: Segmented): Promise<unknown> {
  const context = invocationContext(req, seg);
  // Blocks detached while the entry runs are freed once its commit is applied (DeferredFrees).
  return runLogging(seg.log, () => runInInvocation(context, () => runDeferringFrees(seg.frees, async () => {
    const result = await callEntry(req, store, context);
    // Persistent views (arrays, records, Maps, Sets of the heap) leave the object as plain copies.
    const value = encodeRefs(toPlain(result));
    checkValueSize(value, `the result of ${req.entry}`);
    return value;
  })));
}

async function callEntry(req: RunRequest, store: PersistentStore, context: InvocationContext): Promise<unknown> {
  const cls = loader.load(req.klass);
  const args = decodeRefs(req.args, refTo);
  if (req.op === "upgrade") return fillNewFields(store, cls);
  if (req.op === "inspect") return fieldSnapshot(store, (req.args[0] ?? {}) as SnapshotOptions);
  const volatileStore = await volatiles.storeFor(req, cls, (gen) => syscalls.call(req.id, "volatile.map", { gen }));
  if (req.op === "create") {
    constructWith(store, () => Reflect.construct(cls, args), context, volatileStore);
    return undefined;
  }
  if (!entriesOf(cls).has(req.entry)) {
    throw new UnknownEntryError(`${req.klass.name} has no entry '${req.entry}'`, { className: req.klass.name, entry: req.entry });
  }
  const self = instanceProxy<Record<string, (...args: unknown[]) => unknown>>(store, cls.prototype, context, volatileStore);
  return await self[req.entry](...args);
}

/** The isiba's last segment, in wire form (and whether it is broken); the dirty sets (kept for tools) start over. */
function lastSegment(req: RunRequest, mem: MappedSegment[], seg: Segmented): Pick<RunReply, "log" | "broken"> {
  volatiles.clearDirty(req.object);
  for (const m of mem) m.takeDirty();
  const broken = seg.log.takeBroken();
  const log = seg.log.take();
  // Code of this invocation still running (a continuation it did not await) writes no more.
  seg.log.ended = true;
  return { log, broken };
}

/** Whether the ended isiba has blocks to free after its commit; if not, it is forgotten now. */
function keepsFrees(id: number, seg: Segmented): boolean {
  if (seg.frees.size > 0) return true;
  running.delete(id);
  return false;
}

/** The final commit was answered: free what the isiba detached (its own segment), or drop it. */
function committed(msg: Committed): void {
  const seg = running.get(msg.id);
  if (!seg) return;
  running.delete(msg.id);
  const frees = new WriteLog(seg.log.since);
  if (!msg.ok) seg.frees.drop();
  else {
    try {
      runLogging(frees, () => seg.frees.flush());
    } catch (err) {
      log("isiba %d: freeing its detached blocks failed (they leak): %s", msg.id, (err as Error).message);
    }
  }
  parentPort!.postMessage({ type: "freed", id: msg.id, log: frees.take() } satisfies Freed);
}

function reply(msg: RunReply): void {
  try {
    parentPort!.postMessage(msg);
  } catch (err) {
    const what = `the result of ${msg.id}`;
    parentPort!.postMessage({
      ...msg,
      ok: false,
      value: undefined,
      error: toWireError(new NotTransferableError(`${what} cannot leave the object: ${(err as Error).message}`, { what }), init.serverId),
    });
  }
}

const started = new BigInt64Array(init.started);

async function run(req: RunRequest): Promise<void> {
  Atomics.store(started, 0, BigInt(req.id));
  let mem: MappedSegment[] = [];
  const seg: Segmented = { log: new WriteLog(req.since), frees: new DeferredFrees() };
  running.set(req.id, seg);
  try {
    const mapped = storeFor(req);
    mem = mapped.mem;
    const value = await execute(req, mapped.store, seg);
    reply({ type: "done", id: req.id, ok: true, value, ...lastSegment(req, mem, seg), frees: keepsFrees(req.id, seg) });
  } catch (err) {
    const error = toWireError(err, init.serverId);
    reply({ type: "done", id: req.id, ok: false, error: confined ? explainConfinement(error) : error, ...lastSegment(req, mem, seg), frees: keepsFrees(req.id, seg) });
  }
}

parentPort!.on("message", (msg: KernelMessage) => {
  if (msg.type === "run") void run(msg);
  else if (msg.type === "sysReply") syscalls.settle(msg);
  else if (msg.type === "forget") forget(msg.segments, msg.object);
  else if (msg.type === "committed") committed(msg);
  // Answered between two pieces of object code; a worker busy in one stays silent (WorkerWatch).
  else if (msg.type === "memory") parentPort!.postMessage({ type: "memory", probe: msg.probe, arrayBuffers: process.memoryUsage().arrayBuffers } satisfies MemoryAnswer);
});
