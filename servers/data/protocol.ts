/**
 * The data server's protocol: every message a data server answers, and its typed client.
 *
 * Requests come from compute servers (pages, descriptors, class code) and workstations
 * (class registration, object creation through a compute server). `decodeDataRequest`
 * validates a body where bytes become values: a malformed message gets BadRequestError
 * naming the field, never reaches DataServer logic.
 *
 *   data.hello          {serverId}                      -> {serverId, epoch, leaseMs}
 *   data.page.fault     {segment, page, mode, have, count?, threads?} -> PageGrant {bytes|null, same, version, stamp, epoch, extra?}
 *                       (threads: whose fault it is, for traces: at most MAX_FAULT_THREADS)
 *   data.trace          {thread}                     -> {server, events: TraceEvent[], dropped}
 *                       (what the thread cost here: faults served, the recalls and
 *                       invalidations they took, lock waits — from a bounded ring)
 *                       (count: a write fault may ask for pages page+1..page+count-1 as well, see
 *                       PageHome: a sequential run of fresh pages in one round trip)
 *   data.page.commit    {epoch, term, abort, seen?, pages: [{segment, page, log, left, stamp?}], release?} -> {applied, epoch, reason?, refused?}
 *                       one commit segment: its PageLogs applied all together, or (abort, or a
 *                       lease term that is over) none, and the pages it wrote reverted;
 *                       `release`: locks ({object, key, lock, thread}) given back once that is
 *                       done, whatever the outcome (an exclusive entry's monitor rides along);
 *                       `seen`: the writer's count of refused commits of the object, as last
 *                       told (`refused`): one sent before a later refusal is refused too
 *                       (CommitChains: a pipelined commit may rest on the refused one);
 *                       `atomic`: the segment is atomic thread `id` whole (one home), or its
 *                       part at its log home (`twoPhase`: the others prepared), attempt
 *                       `attempt`: its commit decision stored in the same transaction
 *                       (AtomicDecisions) — or refused if the attempt was decided before (a
 *                       presumed abort)
 *   data.page.release   {epoch, segment, page, version, bytes|null, stamp} -> {released}
 *                       (a compute server evicts its copy: an owner's bytes come home as to a
 *                       recall; released false: not taken, the sender keeps its copy)
 *   data.page.drop      {epoch, pages: [{segment, page, version}]} -> {dropped}
 *                       (a compute server evicted these read copies: it leaves their copysets,
 *                       so the home may forget pages nobody caches; a page whose version moved on
 *                       is left alone)
 *   data.lease.renew    {}                              -> {epoch, leaseMs, term} (LeaseRevokedError if suspect)
 *   data.holder.settle  {holders}                       -> {settled: [{holder, outcome}]}
 *                       (servers a caller lost while a call of its may have been running there:
 *                       answered once each answered us since (alive), or everything it held was
 *                       taken back and reverted (taken back); unknown: it never held anything)
 *   data.pages          {segments}                      -> {epoch, pages: PageInfo[]}
 *   data.segment.sizes  {segments}                      -> SegmentSize[] (maxPages, pages stored, bytes)
 *   data.lock.acquire   {object, key, lock, permits?, thread, term?, cache?, atomic?} -> {granted, waitedMs} (waits, FIFO)
 *                       (cache: a monitor for the sender's MonitorCache, `thread` its cache thread:
 *                       the home recalls it with compute.lock.recall when someone waits behind it;
 *                       atomic {id, since}: an atomic thread's, `thread` its id: wound-wait, the
 *                       holders to abort told with compute.atomic.wound)
 *   data.lock.release   {object, key, lock, thread, term?} -> {released}
 *                       (term: the sender's lease term here; an acquire under a term that is over is refused)
 *   data.lock.list      {object}                        -> LockInfo[]
 *   data.echo           {bytes}                         -> {bytes} (diagnostic: raw round trip)
 *   data.object.create  {className, classVersion, grant?} -> CreatedObject: ObjectDescriptor (class resolved
 *                       by the caller), with `grant`: write grants of its first pages + epoch
 *   data.object.get     {sysname}                       -> ObjectDescriptor | null
 *   data.object.delete  {sysname}                       -> {removed}
 *   data.object.upgrade {sysname, classVersion}         -> ObjectDescriptor | null (never lowers the version)
 *   data.object.list    {}                              -> ObjectDescriptor[]
 *   data.class.register {name, code, entries, sourceFile, sourceHash} -> {class (no code), created}
 *   data.class.get      {name, version?}                -> ClassSegment | null
 *   data.class.list     {}                              -> ClassSummary[]
 *   data.status         {}                              -> DataStatus
 *   data.atomic.decide  {id, outcome, attempt?}         -> DecisionRecord
 *                       (this home as an atomic thread's log home: the first decision stored for
 *                       the id stands, whoever proposed it — the coordinator a commit, anyone a
 *                       presumed abort — except that an abort of one attempt gives way to a
 *                       decision of a later one; `attempt` omitted: every attempt (a workstation
 *                       asking); answered once durable: AtomicDecisions)
 *   data.atomic.prepare {id, attempt, logHome, epoch, term, seen?, pages} -> {prepared, epoch, reason?, refused?}
 *                       (two-phase commit: this home's part of atomic thread attempt `id` is
 *                       checked as a commit would be, then stored durably, not applied, until
 *                       the decision kept at `logHome`: AtomicParticipants)
 *   data.atomic.finish  {id, outcome, release?}         -> {finished, refused?}
 *                       (the coordinator's decision for a part prepared here: applied or
 *                       reverted, durably, when this answers; finished false: no such part
 *                       here — an abort is remembered, so a prepare still on its way is refused;
 *                       `release`: locks given back once it is done, as with a commit's)
 *   data.atomic.outcome {id}                            -> {decision: DecisionRecord | null}
 *                       (null: nothing decided here, or forgotten after its retention)
 *   data.atomic.acknowledge {id}                        -> {acknowledged} (every participant finished it)
 */
import { isAtomicId, isServerId, isSysName, PAGE_SIZE, type AtomicId, type ServerId, type SysName, type ThreadId } from "../../ra-kernel/ids.js";
import { MAX_FAULT_THREADS } from "../../ra-kernel/home-link.js";
import type { TraceEvent } from "../host/thread-trace.js";
import { EVERY_ATTEMPT, type AtomicOutcome, type DecisionRecord } from "./atomic-decisions.js";
import { checkPageLog, WORDS_PER_PAGE } from "../../ra-kernel/page-log.js";
import type { ClassSegment, ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import type { EntrySignature, ParamInfo } from "../../objects/entry-signature.js";
import type { Peer, RequestOptions } from "../transport/transport.js";
import { UnknownMessageError, BadRequestError } from "../transport/errors.js";
import { arr, asBody, bytes, check, int, obj, oneOf, optBool, optInt, str, type Body } from "../transport/schema.js";

export type ClassSummary = Omit<ClassSegment, "code">;

/**
 * One page of a commit segment: `log` is its PageLog (wire form); `left` how many other
 * segments of the writer wrote the page and have not committed yet (0: the writer's copy,
 * wherever it went, holds no uncommitted write of its own any more).
 */
export interface PageCommitMsg {
  segment: SysName;
  page: number;
  log: Uint8Array;
  left: number;
  /** The page's write stamp at the writer when it sent the commit (see PageHome.writerDone); absent: any. */
  stamp?: number;
}

/** A commit's outcome: applied (durable) or not at all, with why. */
export interface CommitOutcome {
  applied: boolean;
  epoch: number;
  reason?: string;
  /** On a refusal: how many commits of the writer for this object were refused so far this term (CommitChains). */
  refused?: number;
}

/**
 * The home's answer to a page fault. `version` names the content granted (stale replies are
 * recognised by it); `same` means "your copy of this version is current, use it" (an upgrade
 * that resends no bytes); otherwise `bytes` is the page (null: never written, all zeros).
 */
export interface PageGrant {
  bytes: Uint8Array | null;
  same: boolean;
  version: number;
  /** The page's write stamp (PageLog): the grantee's writes are stamped above it. */
  stamp: number;
  epoch: number;
  /** The requester's lease term here: its commits carry it (fencing). */
  term: number;
  /** Asked with `count`: the following pages also granted writable (those free of other holders). */
  extra?: ExtraGrant[];
}

/** Most pages one data.page.fault may ask for (the faulted page included). */
export const MAX_FAULT_PAGES = 64;

/** Write ownership of one more page, granted along with a fault or a creation (never a recall away). */
export interface ExtraGrant {
  page: number;
  version: number;
  stamp: number;
  /** The page; null: never written (all zeros). */
  bytes: Uint8Array | null;
}

/** A new object's descriptor; asked with `grant`, also the pages its creator owns from the start. */
export interface CreatedObject extends ObjectDescriptor {
  grants?: { segment: SysName; page: number; version: number }[];
  epoch?: number;
  /** With `grants`: the creator's lease term here. */
  term?: number;
}

/** The home directory's record of one page (DESIGN §7), for `pages NAME` and tools. */
export interface PageInfo {
  segment: SysName;
  page: number;
  version: number;
  owner: string | null;
  copyset: string[];
  /** The version of the bytes last committed to the store. */
  storedVersion: number;
}

/** A read copy a compute server evicted (data.page.drop). */
export interface DroppedCopy {
  segment: SysName;
  page: number;
  /** The version of the copy it had. */
  version: number;
}

/** Who arbitrates what: an exclusive entry's monitor, a named lock, or a counting semaphore. */
export type LockKind = "monitor" | "lock" | "semaphore";

/** What a home found of a server a caller lost (data.holder.settle). */
export type HolderOutcome = "alive" | "taken back" | "unknown";

export interface LockInfo {
  object: SysName;
  key: string;
  kind: LockKind;
  /** Semaphores: permits left; locks and monitors: 0 when held, 1 when free. */
  available: number;
  /** `atomic`: an atomic thread's hold (kept until it commits or aborts; `thread` is its atomic id). */
  holders: { server: string; thread: string; count: number; atomic?: true }[];
  waiting: { server: string; thread: string }[];
}

export interface DataStatus {
  serverId: string;
  epoch: number;
  objects: number;
  classes: number;
  directoryPages: number;
  commits: number;
  transactions: number;
}

/** A segment's size at its home (data.segment.sizes); a segment it does not have: pages -1. */
export interface SegmentSize {
  segment: SysName;
  maxPages: number;
  /** Pages stored (written at least once); the others read as zeros and take no room. */
  pages: number;
  bytes: number;
}

export type DataRequest =
  | { kind: "data.hello"; serverId: string }
  | { kind: "data.page.fault"; segment: SysName; page: number; mode: "read" | "write"; have: number; count?: number; threads?: ThreadId[] }
  | { kind: "data.trace"; thread: ThreadId }
  | { kind: "data.segment.sizes"; segments: SysName[] }
  | { kind: "data.page.commit"; epoch: number; term: number; abort: boolean; seen?: number; pages: PageCommitMsg[]; release?: LockReleaseRef[]; atomic?: AtomicId; attempt?: number; twoPhase?: true }
  | { kind: "data.page.release"; epoch: number; segment: SysName; page: number; version: number; bytes: Uint8Array | null; stamp: number }
  | { kind: "data.page.drop"; epoch: number; pages: DroppedCopy[] }
  | { kind: "data.lease.renew" }
  | { kind: "data.holder.settle"; holders: ServerId[] }
  | { kind: "data.pages"; segments: SysName[] }
  | { kind: "data.lock.acquire"; object: SysName; key: string; lock: LockKind; permits?: number; thread: string; term?: number; cache?: boolean; atomic?: { id: AtomicId; since: number } }
  | { kind: "data.lock.release"; object: SysName; key: string; lock: LockKind; thread: string; term?: number }
  | { kind: "data.lock.list"; object: SysName }
  | { kind: "data.echo"; bytes: Uint8Array }
  | { kind: "data.object.create"; className: string; classVersion: number; grant?: boolean }
  | { kind: "data.object.get"; sysname: SysName }
  | { kind: "data.object.delete"; sysname: SysName }
  | { kind: "data.object.upgrade"; sysname: SysName; classVersion: number }
  | { kind: "data.object.list" }
  | { kind: "data.class.register"; name: string; code: string; entries: EntrySignature[]; sourceFile: string; sourceHash: string }
  | { kind: "data.class.get"; name: string; version?: number }
  | { kind: "data.class.list" }
  | { kind: "data.status" }
  | { kind: "data.atomic.decide"; id: AtomicId; outcome: AtomicOutcome; attempt?: number }
  | { kind: "data.atomic.prepare"; id: AtomicId; attempt: number; logHome: ServerId; epoch: number; term: number; seen?: number; pages: PageCommitMsg[] }
  | { kind: "data.atomic.finish"; id: AtomicId; outcome: AtomicOutcome; release?: LockReleaseRef[] }
  | { kind: "data.atomic.outcome"; id: AtomicId }
  | { kind: "data.atomic.acknowledge"; id: AtomicId };

export interface DataReplies {
  "data.hello": { serverId: string; epoch: number; leaseMs: number };
  "data.page.fault": PageGrant;
  "data.trace": { server: string; events: TraceEvent[]; dropped: number };
  "data.segment.sizes": SegmentSize[];
  "data.page.commit": CommitOutcome;
  "data.page.release": { released: boolean };
  "data.page.drop": { dropped: number };
  "data.lease.renew": { epoch: number; leaseMs: number; term: number };
  "data.holder.settle": { settled: { holder: string; outcome: HolderOutcome }[] };
  "data.pages": { epoch: number; pages: PageInfo[] };
  "data.lock.acquire": { granted: true; waitedMs: number };
  "data.lock.release": { released: boolean };
  "data.lock.list": LockInfo[];
  "data.echo": { bytes: Uint8Array };
  "data.object.create": CreatedObject;
  "data.object.get": ObjectDescriptor | null;
  "data.object.delete": { removed: boolean };
  "data.object.upgrade": ObjectDescriptor | null;
  "data.object.list": ObjectDescriptor[];
  "data.class.register": { class: ClassSummary; created: boolean };
  "data.class.get": ClassSegment | null;
  "data.class.list": ClassSummary[];
  "data.status": DataStatus;
  "data.atomic.decide": DecisionRecord;
  "data.atomic.outcome": { decision: DecisionRecord | null };
  "data.atomic.acknowledge": { acknowledged: boolean };
  "data.atomic.prepare": PrepareOutcome;
  "data.atomic.finish": { finished: boolean; refused?: number };
}

/** A home's answer to data.atomic.prepare: `prepared` false is a refusal (as a commit's), its pages reverted. */
export interface PrepareOutcome {
  prepared: boolean;
  epoch: number;
  reason?: string;
  refused?: number;
}

const CLASS_NAME_RE = /^[A-Za-z_$][\w$]{0,127}$/;
const MAX_CODE = 16 * 1024 * 1024;
const MAX_PAGES_PER_COMMIT = 16_384;
/** Attempts an atomic thread may make (EVERY_ATTEMPT: a decision about all of them). */
const MAX_ATTEMPT = EVERY_ATTEMPT;
const MAX_PAGES_PER_DROP = 16_384;
/** Servers one data.holder.settle may name (a caller remembers at most 32: UnsettledServers). */
const MAX_SETTLE_HOLDERS = 64;
/** Locks one commit may give back (an invocation's monitor, and what it left held). */
const MAX_RELEASES = 64;

const sysname = (kind: string, b: Body, field: string) => check(kind, b, field, isSysName, "a sysname");
const atomicId = (kind: string, b: Body) => check(kind, b, "id", isAtomicId, "an atomic id (1-200 printable characters, no spaces)");
const className = (kind: string, b: Body, field: string) =>
  check(kind, b, field, (v): v is string => typeof v === "string" && CLASS_NAME_RE.test(v), "a class name");

export function decodeDataRequest(kind: string, body: unknown): DataRequest {
  const b = asBody(kind, body ?? {});
  switch (kind) {
    case "data.hello": return { kind, serverId: str(kind, b, "serverId", 64) };
    case "data.page.fault":
      return {
        kind, segment: sysname(kind, b, "segment"), page: int(kind, b, "page", 0, 2 ** 31),
        mode: oneOf(kind, b, "mode", ["read", "write"] as const), have: int(kind, b, "have", 0),
        count: optInt(kind, b, "count", 1, MAX_FAULT_PAGES),
        ...(b.threads === undefined ? {} : { threads: arr(kind, b, "threads", MAX_FAULT_THREADS).map((t, i) => str(`${kind} threads[${i}]`, { t }, "t", 128) as ThreadId) }),
      };
    case "data.trace": return { kind, thread: str(kind, b, "thread", 128) as ThreadId };
    case "data.segment.sizes": return { kind, segments: arr(kind, b, "segments", 16).map((s, i) => check(`${kind} segments[${i}]`, { s }, "s", isSysName, "a sysname")) };
    case "data.page.commit":
      return {
        kind, epoch: int(kind, b, "epoch"), term: int(kind, b, "term"), abort: b.abort === true, seen: optInt(kind, b, "seen"),
        pages: arr(kind, b, "pages", MAX_PAGES_PER_COMMIT).map((p, i) => pageCommit(kind, p, i)),
        release: b.release === undefined ? undefined : arr(kind, b, "release", MAX_RELEASES).map((r, i) => lockRelease(kind, r, i)),
        ...(b.atomic === undefined ? {} : { atomic: check(kind, b, "atomic", isAtomicId, "an atomic id"), attempt: optInt(kind, b, "attempt", 0, MAX_ATTEMPT) ?? 0 }),
        ...(b.twoPhase === true ? { twoPhase: true as const } : {}),
      };
    case "data.page.release":
      return {
        kind, epoch: int(kind, b, "epoch"), segment: sysname(kind, b, "segment"), page: int(kind, b, "page", 0, 2 ** 31),
        version: int(kind, b, "version", 1), bytes: b.bytes === null ? null : bytes(kind, b, "bytes", PAGE_SIZE), stamp: int(kind, b, "stamp", 0),
      };
    case "data.page.drop":
      return { kind, epoch: int(kind, b, "epoch"), pages: arr(kind, b, "pages", MAX_PAGES_PER_DROP).map((p, i) => droppedCopy(kind, p, i)) };
    case "data.lease.renew": return { kind };
    case "data.holder.settle":
      return { kind, holders: arr(kind, b, "holders", MAX_SETTLE_HOLDERS).map((h, i) => check(`${kind} holders[${i}]`, { value: h }, "value", isServerId, "a server id")) };
    case "data.pages": return { kind, segments: arr(kind, b, "segments", 16).map((s, i) => sysnameItem(kind, "segments", s, i)) };
    case "data.lock.acquire":
      return {
        ...lockRef(kind, b), permits: optInt(kind, b, "permits", 0, 1_000_000), ...(b.cache === true ? { cache: true } : {}),
        ...(b.atomic === undefined ? {} : { atomic: atomicAge(kind, b) }),
      };
    case "data.lock.release": return lockRef(kind, b);
    case "data.lock.list": return { kind, object: sysname(kind, b, "object") };
    case "data.echo": return { kind, bytes: bytes(kind, b, "bytes", 1024 * 1024) };
    case "data.object.create":
      return { kind, className: className(kind, b, "className"), classVersion: int(kind, b, "classVersion", 1), grant: optBool(kind, b, "grant") };
    case "data.object.upgrade": return { kind, sysname: sysname(kind, b, "sysname"), classVersion: int(kind, b, "classVersion", 1, 2 ** 31) };
    case "data.object.get":
    case "data.object.delete": return { kind, sysname: sysname(kind, b, "sysname") };
    case "data.class.register":
      return {
        kind, name: className(kind, b, "name"), code: str(kind, b, "code", MAX_CODE),
        entries: arr(kind, b, "entries", 10_000).map((e, i) => entrySignature(kind, e, i)),
        sourceFile: str(kind, b, "sourceFile", 4096), sourceHash: str(kind, b, "sourceHash", 128),
      };
    case "data.class.get": return { kind, name: className(kind, b, "name"), version: optInt(kind, b, "version", 1) };
    case "data.object.list":
    case "data.class.list":
    case "data.status": return { kind };
    case "data.atomic.decide": {
      const attempt = optInt(kind, b, "attempt", 0, MAX_ATTEMPT);
      return { kind, id: atomicId(kind, b), outcome: oneOf(kind, b, "outcome", ["commit", "abort"] as const), ...(attempt === undefined ? {} : { attempt }) };
    }
    case "data.atomic.prepare":
      return {
        kind, id: atomicId(kind, b), attempt: int(kind, b, "attempt", 0, MAX_ATTEMPT), logHome: check(kind, b, "logHome", isServerId, "a server id"),
        epoch: int(kind, b, "epoch"), term: int(kind, b, "term"), seen: optInt(kind, b, "seen"),
        pages: arr(kind, b, "pages", MAX_PAGES_PER_COMMIT).map((p, i) => pageCommit(kind, p, i)),
      };
    case "data.atomic.finish":
      return {
        kind, id: atomicId(kind, b), outcome: oneOf(kind, b, "outcome", ["commit", "abort"] as const),
        ...(b.release === undefined ? {} : { release: arr(kind, b, "release", MAX_RELEASES).map((r, i) => lockRelease(kind, r, i)) }),
      };
    case "data.atomic.outcome":
    case "data.atomic.acknowledge": return { kind, id: atomicId(kind, b) };
    default: throw new UnknownMessageError(`data server: unknown message kind '${kind}'`, { kind });
  }
}

function pageCommit(kind: string, value: unknown, i: number): PageCommitMsg {
  const k = `${kind} pages[${i}]`;
  const b = asBody(k, value);
  const log = bytes(k, b, "log", 8 + 14 * WORDS_PER_PAGE);
  try {
    checkPageLog(log);
  } catch (err) {
    throw new BadRequestError(`${k}: 'log' ${(err as Error).message}`, { kind, field: "log" });
  }
  return { segment: sysname(k, b, "segment"), page: int(k, b, "page", 0, 2 ** 31), log, left: int(k, b, "left", 0), stamp: optInt(k, b, "stamp") };
}

function droppedCopy(kind: string, value: unknown, i: number): DroppedCopy {
  const k = `${kind} pages[${i}]`;
  const b = asBody(k, value);
  return { segment: sysname(k, b, "segment"), page: int(k, b, "page", 0, 2 ** 31), version: int(k, b, "version", 1) };
}

function sysnameItem(kind: string, field: string, value: unknown, i: number): SysName {
  if (!isSysName(value)) throw new BadRequestError(`${kind}: '${field}[${i}]' must be a sysname, got ${JSON.stringify(value)?.slice(0, 80)}`, { kind, field });
  return value;
}

const LOCK_KEY_RE = /^[\x20-\x7e]{1,128}$/;

/** A lock given back with a commit (data.page.commit `release`). */
export interface LockReleaseRef {
  object: SysName;
  key: string;
  lock: LockKind;
  thread: string;
}

function lockRelease(kind: string, value: unknown, i: number): LockReleaseRef {
  const k = `${kind} release[${i}]`;
  const r = asBody(k, value);
  return {
    object: sysname(k, r, "object"),
    key: check(k, r, "key", (v): v is string => typeof v === "string" && LOCK_KEY_RE.test(v), "a key of 1-128 printable characters"),
    lock: oneOf(k, r, "lock", ["monitor", "lock", "semaphore"] as const), thread: str(k, r, "thread", 128),
  };
}

function lockRef<K extends "data.lock.acquire" | "data.lock.release">(kind: K, b: Body) {
  return {
    kind, object: sysname(kind, b, "object"),
    key: check(kind, b, "key", (v): v is string => typeof v === "string" && LOCK_KEY_RE.test(v), "a key of 1-128 printable characters"),
    lock: oneOf(kind, b, "lock", ["monitor", "lock", "semaphore"] as const), thread: str(kind, b, "thread", 128),
    term: optInt(kind, b, "term", 0),
  };
}

/** An atomic thread's id and start (data.lock.acquire `atomic`); its id must be the acquire's thread. */
function atomicAge(kind: string, b: Body): { id: AtomicId; since: number } {
  const k = `${kind} atomic`;
  const a = obj(kind, b, "atomic");
  const id = atomicId(k, a);
  if (id !== b.thread) throw new BadRequestError(`${k}: 'id' must be the acquire's thread (${JSON.stringify(b.thread)})`, { kind, field: "id" });
  return { id, since: int(k, a, "since", 0) };
}

function entrySignature(kind: string, value: unknown, i: number): EntrySignature {
  const k = `${kind} entries[${i}]`;
  const b = asBody(k, value);
  const name = str(k, b, "name", 128);
  const flags = { exclusive: b.exclusive === true, ...(b.atomic === true ? { atomic: true } : {}), ...(b.ctor === true ? { ctor: true as const } : {}) };
  if (b.params === null) return { name, ...flags, params: null };
  const params = arr(k, b, "params", 256).map((p, j) => paramInfo(`${k} params[${j}]`, p));
  return { name, ...flags, params };
}

function paramInfo(k: string, value: unknown): ParamInfo {
  const b = asBody(k, value);
  const type = oneOf(k, b, "type", ["number", "string", "boolean", "bigint", "any"] as const);
  if (typeof b.optional !== "boolean" || typeof b.rest !== "boolean") {
    throw new BadRequestError(`${k}: 'optional' and 'rest' must be booleans`, { kind: k, field: "optional" });
  }
  return { name: str(k, b, "name", 128), type, optional: b.optional, rest: b.rest };
}

/** Typed calls to one data server over a Peer. */
export class DataClient {
  constructor(readonly peer: Peer) {}

  call<K extends keyof DataReplies>(kind: K, body: Omit<Extract<DataRequest, { kind: K }>, "kind">, options?: RequestOptions): Promise<DataReplies[K]> {
    return this.peer.request<DataReplies[K]>(kind, body, options);
  }
}
