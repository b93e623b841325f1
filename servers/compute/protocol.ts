/**
 * The compute server's protocol: invocations from workstations and other compute servers
 * (nested invocations: the same thread id, depth + 1), object creation, invalidations from
 * homes, and thread output travelling back to its workstation. Decoded and validated here.
 *
 *   compute.invoke     {thread, depth, target, entry, args, deadline?, after?, atomic?} -> {value, server, load}
 *                      (atomic {id, since, coordinator}: a frame of that atomic thread, sent by one
 *                      of its frames elsewhere: it runs in the thread's branch here, joined to
 *                      its coordinator, the compute server running its root frame)
 *                      (after: servers the caller lost while an earlier call of its may have been
 *                      running there; the call runs once their homes settled them: Placer)
 *                      (arguments and value carry object references as { $ref: sysname } and
 *                      bigint, Date, Map, Set, undefined in WireValue's tagged form: ComputeClient
 *                      encodes arguments and decodes the value, decodeComputeRequest decodes
 *                      arguments, the server encodes the value with `wireValue`)
 *   workstation.print  {thread, text}                                 -> {delivered}
 *                      (from a compute server down the thread's chain: forwarded up it; a
 *                      workstation's client answers the same message)
 *   workstation.frames {reports: FrameReport[]}                       -> {}
 *                      (where threads are: frames that ran REPORT_EVERY_MS, their states,
 *                      their ends, a spawned thread's parent — to each thread's workstation,
 *                      forwarded up its chain as output is: servers/compute/frame-reports.ts)
 *   compute.create     {className, classVersion?, home?, args, thread, after?} -> {descriptor, server}
 *   compute.ping       {}                                              -> {}
 *                      (from a home settling a server a caller lost: this one is alive)
 *   compute.recall     {segment, page, version, epoch, action, threads?} -> {held, bytes|null, stamp, dirty, lost?}
 *                      (threads: whose fault at another server this recall serves, traced here)
 *                      (lost, answering a revert: other pages of the object its doomed segments may have written)
 *                      (action revert: drop the copy and abort the segments here that wrote the page;
 *                      action refresh: drop the copy, an owner returning its bytes, abort nothing)
 *                      (from a home: drop or downgrade our copy of `version`; an owner returns its bytes)
 *   compute.lock.recall {object, key, cacheThread, waiter}             -> {action: released | later | convert, thread?, count?}
 *                      (from a home: `waiter` waits behind the monitor this server caches as
 *                      `cacheThread`; see ra-kernel/monitor-cache.ts)
 *   compute.atomic.wound {id, object, reason}                          -> {wounded}
 *                      (from a home: an older atomic thread, or a non-atomic one, waits for
 *                      object's monitor, which atomic thread `id` holds: abort it (wound-wait,
 *                      servers/data/lock-table.ts); wounded false: it is not running here)
 *   compute.atomic.join {id}                                          -> {joined}
 *                      (to a thread's coordinator, from a compute server about to run a frame of
 *                      it in a branch: it is a participant of the thread's commit from now on;
 *                      joined false: the thread is over or committing, the frame must not run)
 *   compute.atomic.wounded {id, reason}                               -> {wounded}
 *                      (between a thread's coordinator and its branches: one of them was
 *                      wounded, so the whole thread aborts, and waits for monitors end)
 *   compute.atomic.prepare {id, thread, attempt, logHome}             -> {prepared, reason?}
 *                      (to a branch, from the coordinator: prepare what the thread wrote here at
 *                      its homes (data.atomic.prepare), the decision to be kept at `logHome`)
 *   compute.atomic.finish {id, outcome}                               -> {finished}
 *                      (to a branch: the thread committed (its prepared parts are applied) or
 *                      aborted (its writes here reverted); either way the branch ends, its
 *                      locks and monitors given back; finished false: no such branch here)
 *   compute.thread.kill {thread, deadline?}                            -> {server, frames, workers}
 *                      (kill every frame of the thread running here — its isibas' workers are
 *                      terminated and replaced — and refuse its frames for a while: each fails
 *                      with ThreadKilledError — DeadlineExceededError naming `deadline.frame` if
 *                      the thread ran past its deadline; `workers`: how many were terminated)
 *   compute.threads    {thread?}                                       -> {server, frames: FrameInfo[]}
 *                      (the frames running here: thread, depth, object, entry, since)
 *   compute.trace      {thread}                                        -> {server, events: TraceEvent[], dropped}
 *                      (what the thread did here, from a bounded ring: ThreadTrace)
 *   compute.inspect    {object, thread, depth?, maxItems?}             -> {className, classVersion, fields, server}
 *                      (the object's persistent fields as plain data, `fields` in wire form,
 *                      running none of its code: objects/field-snapshot.ts)
 *   compute.pages      {segments}                                      -> CachedPageInfo[]
 *   compute.probe      {op, ...}                                       -> {micros} (diagnostic, for benchmarks)
 *   compute.status     {}                                              -> ComputeStatus
 *   compute.load       {report}                                        -> {}
 *                      (a LoadReport pushed by another compute server, or to a workstation by
 *                      the server it subscribed to; bounded: MAX_WARM_OBJECTS, MAX_MEMBERS)
 *   compute.subscribe  {}                                              -> LoadReport
 *                      (a workstation asks for this server's reports on the connection it
 *                      sent this on, until it closes; the reply is the current one)
 *   compute.decisions  {thread?, limit?}                               -> DecisionsReply
 *                      (the placement decisions taken here: one thread's, or the latest)
 */
import { MAX_UNSETTLED } from "../placement/unsettled-servers.js";
import { isAtomicId, isServerId, isSysName, type AtomicId, type PageNo, type ServerId, type SysName, type ThreadId } from "../../ra-kernel/ids.js";
import type { ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import type { RecallAnswer } from "../../ra-kernel/monitor-cache.js";
import { BadRequestError, UnknownMessageError } from "../transport/errors.js";
import { arr, asBody, check, int, obj, oneOf, optInt, optStr, str, type Body } from "../transport/schema.js";
import type { Peer, RequestOptions } from "../transport/transport.js";
import { fromWire, toWire, WireValueError } from "../../objects/wire-value.js";
import { MAX_MEMBERS, MAX_WARM_OBJECTS, type LoadReport, type ServerLoad } from "../placement/load-report.js";
import type { PlacementRecord } from "../placement/decision-log.js";
import type { PlacementReason } from "../placement/placement-policy.js";
import type { FrameInfo } from "./thread-frames.js";
import { MAX_REPORTS_PER_MESSAGE, type FrameReport } from "./frame-reports.js";
import { MAX_FAULT_THREADS } from "../../ra-kernel/home-link.js";
import type { TraceEvent } from "../host/thread-trace.js";

/** A compute server's load (see ServerLoad): in every compute.invoke reply and every LoadReport. */
export type ComputeLoad = ServerLoad;

/** What compute.decisions answers. */
export interface DecisionsReply {
  server: string;
  decisions: PlacementRecord[];
  counts: Record<PlacementReason, number>;
  failovers: number;
}

export interface ComputeStatus {
  serverId: string;
  load: ComputeLoad;
  objects: number;
  /** Pages in the page cache (frames in use), and its bound (--cache-mb). */
  cachedPages: number;
  cacheBoundPages: number;
  /** The largest working sets here (pages used in the last window), by object. */
  workingSets: { object: SysName; pages: number }[];
  workers: number;
  counters: Record<string, number>;
  /** Placement here: decisions per reason, failovers, and the load table (each server, ages in ms). */
  placement?: {
    decisions: Record<PlacementReason, number>;
    failovers: number;
    servers: { id: string; address: string; ageMs: number; loadAgeMs: number | null; dead: boolean; warmObjects: number }[];
  };
}

/**
 * What a home asks of a holder: drop the copy, keep it read-only (the owner's bytes go home),
 * revert (drop it: the page's coherent image is rebuilt without this server's uncommitted
 * words, so the segments here that wrote it must abort), or refresh (drop it: the image is
 * rebuilt without another server's words; an owner's bytes go home, nothing aborts here).
 */
export type RecallAction = "invalidate" | "downgrade" | "revert" | "refresh";

/** One page as this compute server caches it (for `pages NAME`). */
export interface CachedPageInfo {
  segment: SysName;
  page: PageNo;
  state: "invalid" | "read" | "write";
  version: number;
  owned: boolean;
  /** Used within the working-set window here (PageCache). */
  workingSet: boolean;
}

/**
 * Diagnostic operations for benchmarks, timed inside the kernel:
 *   fault  take a page fault on `segment`/`page` in `mode` as an isiba would
 *   fill   fault the page for writing, fill it with `byte` and write it back (committed)
 *   drop   forget the page here (as if invalidated), so the next fault goes to the home
 *   evict  evict the page as the page cache does (an owned page's bytes go home first)
 *   echo   a raw round trip of `size` bytes to data server `home`
 */
export type ProbeRequest =
  | { op: "fault"; segment: SysName; page: PageNo; mode: "read" | "write" }
  | { op: "fill"; segment: SysName; page: PageNo; byte: number }
  | { op: "drop"; segment: SysName; page: PageNo }
  | { op: "evict"; segment: SysName; page: PageNo }
  | { op: "echo"; home: ServerId; size: number };

export type ComputeRequest =
  | { kind: "compute.invoke"; thread: ThreadId; depth: number; target: SysName; entry: string; args: unknown[]; deadline?: number; after?: ServerId[]; atomic?: AtomicFrameContext }
  | { kind: "compute.create"; className: string; classVersion?: number; home?: ServerId; args: unknown[]; thread: ThreadId; after?: ServerId[] }
  | { kind: "compute.ping" }
  | { kind: "compute.atomic.wound"; id: AtomicId; object: SysName; reason: string }
  | { kind: "compute.thread.kill"; thread: ThreadId; deadline?: { frame: string } }
  | { kind: "compute.threads"; thread?: ThreadId }
  | { kind: "compute.trace"; thread: ThreadId }
  | { kind: "compute.atomic.join"; id: AtomicId }
  | { kind: "compute.atomic.wounded"; id: AtomicId; reason: string }
  | { kind: "compute.atomic.prepare"; id: AtomicId; thread: AtomicId; attempt: number; logHome: ServerId }
  | { kind: "compute.atomic.finish"; id: AtomicId; outcome: "commit" | "abort" }
  | { kind: "compute.recall"; segment: SysName; page: PageNo; version: number; epoch: number; action: RecallAction; current?: number; threads?: ThreadId[] }
  | { kind: "compute.lock.recall"; object: SysName; key: string; cacheThread: string; waiter: string }
  | { kind: "compute.pages"; segments: SysName[] }
  | { kind: "compute.inspect"; object: SysName; thread: ThreadId; depth?: number; maxItems?: number }
  | ({ kind: "compute.probe" } & ProbeRequest)
  | { kind: "compute.status" }
  | { kind: "compute.load"; report: LoadReport }
  | { kind: "compute.subscribe" }
  | { kind: "compute.decisions"; thread?: string; limit?: number }
  | { kind: "workstation.print"; thread: ThreadId; text: string }
  | { kind: "workstation.frames"; reports: FrameReport[] };

export interface ComputeReplies {
  /** `warm`: the target's pages cached on `server` after the call (its working set there). */
  "compute.invoke": { value: unknown; server: string; load: ComputeLoad; warm?: number };
  "compute.create": { descriptor: ObjectDescriptor; server: string; load?: ComputeLoad; warm?: number };
  "compute.recall": { held: boolean; bytes: Uint8Array | null; stamp: number; dirty: boolean; lost?: { segment: SysName; page: PageNo }[] };
  "compute.lock.recall": RecallAnswer;
  "compute.pages": CachedPageInfo[];
  "compute.inspect": { className: string; classVersion: number; fields: Record<string, unknown>; server: string };
  "compute.probe": { micros: number };
  "compute.ping": Record<string, never>;
  "compute.atomic.wound": { wounded: boolean };
  "compute.thread.kill": { server: string; frames: number; workers: number };
  "compute.threads": { server: string; frames: FrameInfo[] };
  "compute.trace": { server: string; events: TraceEvent[]; dropped: number };
  "compute.atomic.join": { joined: boolean };
  "compute.atomic.wounded": { wounded: boolean };
  "compute.atomic.prepare": { prepared: boolean; reason?: string };
  "compute.atomic.finish": { finished: boolean };
  "compute.status": ComputeStatus;
  "compute.load": Record<string, never>;
  "compute.subscribe": LoadReport;
  "compute.decisions": DecisionsReply;
  "workstation.print": { delivered: boolean };
  "workstation.frames": Record<string, never>;
}

/** What a frame of an atomic thread sent to another compute server carries (AtomicContext). */
export interface AtomicFrameContext {
  id: AtomicId;
  since: number;
  coordinator: ServerId;
}

/** How many invocations deep a thread may go (a workstation's call is depth 0). */
export const MAX_INVOCATION_DEPTH = 64;
/** Longest line `print` carries (longer ones are cut by the kernel). */
export const MAX_PRINT_TEXT = 128 * 1024;

const ENTRY_RE = /^[A-Za-z_$][\w$]{0,127}$/;
const CLASS_NAME_RE = ENTRY_RE;
const MAX_ARGS = 1000;

const entryName = (kind: string, b: Body) =>
  check(kind, b, "entry", (v): v is string => typeof v === "string" && ENTRY_RE.test(v), "an entry name");
const thread = (kind: string, b: Body) => str(kind, b, "thread", 128) as ThreadId;

export function decodeComputeRequest(kind: string, body: unknown): ComputeRequest {
  const b = asBody(kind, body ?? {});
  switch (kind) {
    case "compute.invoke":
      return {
        kind, thread: thread(kind, b), depth: int(kind, b, "depth", 0, 10_000), target: check(kind, b, "target", isSysName, "a sysname"),
        entry: entryName(kind, b), args: wireArgs(kind, b), deadline: optInt(kind, b, "deadline"), ...after(kind, b),
        ...(b.atomic === undefined ? {} : { atomic: atomicFrame(kind, b) }),
      };
    case "compute.create":
      return {
        kind, className: check(kind, b, "className", (v): v is string => typeof v === "string" && CLASS_NAME_RE.test(v), "a class name"), classVersion: optInt(kind, b, "classVersion", 1),
        home: b.home === undefined ? undefined : check(kind, b, "home", isServerId, "a server id"),
        args: wireArgs(kind, b), thread: thread(kind, b), ...after(kind, b),
      };
    case "compute.recall":
      return {
        kind, segment: check(kind, b, "segment", isSysName, "a sysname"), page: int(kind, b, "page", 0, 2 ** 31),
        version: int(kind, b, "version"), epoch: int(kind, b, "epoch"), action: oneOf(kind, b, "action", ["invalidate", "downgrade", "revert", "refresh"] as const),
        ...(b.current === undefined ? {} : { current: int(kind, b, "current") }),
        ...(b.threads === undefined ? {} : { threads: arr(kind, b, "threads", MAX_FAULT_THREADS).map((t, i) => str(`${kind} threads[${i}]`, { t }, "t", 128) as ThreadId) }),
      };
    case "compute.lock.recall":
      return {
        kind, object: check(kind, b, "object", isSysName, "a sysname"), key: str(kind, b, "key", 128),
        cacheThread: str(kind, b, "cacheThread", 160), waiter: str(kind, b, "waiter", 160),
      };
    case "compute.pages":
      return { kind, segments: arr(kind, b, "segments", 16).map((s, i) => sysnameAt(kind, "segments", s, i)) };
    case "compute.inspect":
      return {
        kind, object: check(kind, b, "object", isSysName, "a sysname"), thread: thread(kind, b),
        ...(b.depth === undefined ? {} : { depth: int(kind, b, "depth", 0, 64) }), ...(b.maxItems === undefined ? {} : { maxItems: int(kind, b, "maxItems", 1, 1_000_000) }),
      };
    case "compute.probe": return { kind, ...probe(kind, b) };
    case "compute.status": return { kind };
    case "compute.ping": return { kind };
    case "compute.atomic.wound":
      return {
        kind, id: check(kind, b, "id", isAtomicId, "an atomic id"), object: check(kind, b, "object", isSysName, "a sysname"),
        reason: str(kind, b, "reason", 200),
      };
    case "compute.thread.kill": {
      if (b.deadline === undefined) return { kind, thread: thread(kind, b) };
      const d = obj(kind, b, "deadline");
      return { kind, thread: thread(kind, b), deadline: { frame: str(`${kind} deadline`, d, "frame", 400) } };
    }
    case "compute.threads": return { kind, ...(b.thread === undefined ? {} : { thread: thread(kind, b) }) };
    case "compute.trace": return { kind, thread: thread(kind, b) };
    case "compute.atomic.join": return { kind, id: check(kind, b, "id", isAtomicId, "an atomic id") };
    case "compute.atomic.wounded": return { kind, id: check(kind, b, "id", isAtomicId, "an atomic id"), reason: str(kind, b, "reason", 400) };
    case "compute.atomic.prepare":
      return {
        kind, id: check(kind, b, "id", isAtomicId, "an atomic id"), thread: check(kind, b, "thread", isAtomicId, "an atomic id"),
        attempt: int(kind, b, "attempt", 0, 1_000_000), logHome: check(kind, b, "logHome", isServerId, "a server id"),
      };
    case "compute.atomic.finish": return { kind, id: check(kind, b, "id", isAtomicId, "an atomic id"), outcome: oneOf(kind, b, "outcome", ["commit", "abort"] as const) };
    case "compute.load": return { kind, report: decodeLoadReport(kind, obj(kind, b, "report")) };
    case "compute.subscribe": return { kind };
    case "compute.decisions": return { kind, thread: optStr(kind, b, "thread", 128), limit: optInt(kind, b, "limit", 1, 1000) };
    case "workstation.print": return { kind, thread: thread(kind, b), text: str(kind, b, "text", MAX_PRINT_TEXT) };
    case "workstation.frames": return { kind, reports: arr(kind, b, "reports", MAX_REPORTS_PER_MESSAGE).map((r, i) => frameReport(`${kind} reports[${i}]`, asBody(`${kind} reports[${i}]`, r))) };
    default: throw new UnknownMessageError(`compute server: unknown message kind '${kind}'`, { kind });
  }
}

/** One of workstation.frames' reports: a frame now, a frame ended, or a spawned thread's parent. */
function frameReport(k: string, r: Body): FrameReport {
  const t = thread(k, r);
  if (r.parent !== undefined) return { thread: t, parent: str(k, r, "parent", 128) };
  const key = str(k, r, "key", 200);
  if (r.ended !== undefined) return { thread: t, key, ended: check(k, r, "ended", (v): v is true => v === true, "true") };
  return {
    thread: t, key, server: str(k, r, "server", 128), depth: int(k, r, "depth", 0, 10_000), object: check(k, r, "object", isSysName, "a sysname"),
    entry: entryName(k, r), since: int(k, r, "since"), state: str(k, r, "state", 400),
  };
}

/** The optional `after` of an invocation or creation: server ids (at most MAX_UNSETTLED). */
function after(kind: string, b: Body): { after?: ServerId[] } {
  if (b.after === undefined) return {};
  return { after: arr(kind, b, "after", MAX_UNSETTLED).map((v, i) => check(`${kind} after[${i}]`, { value: v }, "value", isServerId, "a server id")) };
}

/** compute.invoke's `atomic`: the atomic thread a frame belongs to. */
function atomicFrame(kind: string, b: Body): AtomicFrameContext {
  const k = `${kind} atomic`;
  const a = obj(kind, b, "atomic");
  return { id: check(k, a, "id", isAtomicId, "an atomic id"), since: int(k, a, "since", 0), coordinator: check(k, a, "coordinator", isServerId, "a server id") };
}

/** An argument list (at most MAX_ARGS) decoded from its wire form. */
function wireArgs(kind: string, b: Body): unknown[] {
  const args = arr(kind, b, "args", MAX_ARGS);
  try {
    return fromWire(args) as unknown[];
  } catch (err) {
    if (!(err instanceof WireValueError)) throw err;
    throw new BadRequestError(`${kind}: field 'args' holds a malformed value (${err.message})`, { kind, field: "args" });
  }
}

/** A compute.invoke reply's value in wire form (what the server sends). */
export function wireValue(value: unknown): unknown {
  return toWire(value);
}

const ADDRESS_MAX = 256;
/** Loads are counts and milliseconds: anything beyond this is nonsense, not load. */
const LOAD_MAX = 1e9;

/** A pushed LoadReport, checked field by field (errors name "report.<field>"). */
export function decodeLoadReport(kind: string, b: Body): LoadReport {
  const k = `${kind} report`;
  const serverId = (v: unknown): v is ServerId => isServerId(v);
  return {
    server: check(k, b, "server", serverId, "a server id"), address: str(k, b, "address", ADDRESS_MAX),
    incarnation: int(k, b, "incarnation"), seq: int(k, b, "seq"), load: decodeLoad(k, obj(k, b, "load")),
    warm: arr(k, b, "warm", MAX_WARM_OBJECTS).map((w, i) => {
      const item = asBody(`${k} warm[${i}]`, w);
      return { object: check(`${k} warm[${i}]`, item, "object", isSysName, "a sysname"), pages: int(`${k} warm[${i}]`, item, "pages", 0, 2 ** 31) };
    }),
    members: arr(k, b, "members", MAX_MEMBERS).map((m, i) => {
      const item = asBody(`${k} members[${i}]`, m);
      return { id: check(`${k} members[${i}]`, item, "id", serverId, "a server id"), address: str(`${k} members[${i}]`, item, "address", ADDRESS_MAX) };
    }),
  };
}

function decodeLoad(kind: string, b: Body): ServerLoad {
  const k = `${kind} load`;
  return {
    running: int(k, b, "running", 0, LOAD_MAX), lagMs: num(k, b, "lagMs"), waiting: int(k, b, "waiting", 0, LOAD_MAX), queued: int(k, b, "queued", 0, LOAD_MAX),
    workers: int(k, b, "workers", 1, 10_000), cpu: num(k, b, "cpu"), cachedPages: int(k, b, "cachedPages", 0, LOAD_MAX),
  };
}

/** A finite, non-negative number (lag, CPU are fractional). */
function num(kind: string, b: Body, field: string): number {
  const v = b[field];
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > LOAD_MAX) {
    throw new BadRequestError(`${kind}: field '${field}' must be a number between 0 and ${LOAD_MAX}, got ${JSON.stringify(v)}`, { kind, field });
  }
  return v;
}

function sysnameAt(kind: string, field: string, value: unknown, i: number): SysName {
  return check(`${kind} ${field}[${i}]`, { value }, "value", isSysName, "a sysname");
}

function probe(kind: string, b: Body): ProbeRequest {
  const op = oneOf(kind, b, "op", ["fault", "fill", "drop", "evict", "echo"] as const);
  if (op === "echo") return { op, home: check(kind, b, "home", isServerId, "a server id"), size: int(kind, b, "size", 0, 1024 * 1024) };
  const segment = check(kind, b, "segment", isSysName, "a sysname");
  const page = int(kind, b, "page", 0, 2 ** 31);
  if (op === "fault") return { op, segment, page, mode: oneOf(kind, b, "mode", ["read", "write"] as const) };
  if (op === "fill") return { op, segment, page, byte: int(kind, b, "byte", 0, 255) };
  return { op, segment, page };
}

/** Typed calls to one compute server over a Peer. */
export class ComputeClient {
  constructor(readonly peer: Peer) {}

  /** Arguments (invoke, create) leave in wire form; an invocation's value is decoded from it. */
  async call<K extends keyof ComputeReplies>(kind: K, body: Omit<Extract<ComputeRequest, { kind: K }>, "kind">, options?: RequestOptions): Promise<ComputeReplies[K]> {
    const carriesArgs = kind === "compute.invoke" || kind === "compute.create";
    const wireBody = carriesArgs ? { ...body, args: toWire((body as unknown as { args: unknown[] }).args) } : body;
    const reply = await this.peer.request<ComputeReplies[K]>(kind, wireBody, options);
    if (kind === "compute.inspect") {
      const r = reply as ComputeReplies["compute.inspect"];
      return { ...r, fields: fromWire(r.fields) } as ComputeReplies[K];
    }
    if (kind !== "compute.invoke") return reply;
    const r = reply as ComputeReplies["compute.invoke"];
    return { ...r, value: fromWire(r.value) } as ComputeReplies[K];
  }
}
