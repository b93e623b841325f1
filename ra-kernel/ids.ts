/**
 * Named identifiers used across the kernel, the servers and the shell.
 *
 * A SysName is Clouds' global, location-independent id: 128 bits (a ULID: 48-bit time and
 * 80 random bits, Crockford base32) printed as `sys:<home>:<ulid>`. The home part is only a
 * routing hint (the data server that created the segment or object); nothing may assume a
 * sysname moves with its home. Branded string types keep ids from being mixed up at compile
 * time; `asX` functions are the only place plain strings become ids.
 */
import { randomFillSync } from "node:crypto";

export type SysName = string & { readonly __brand: "SysName" };
/** `ns1`, `ds1`, `cs2`, or a name given on the command line. */
export type ServerId = string & { readonly __brand: "ServerId" };
/** A thread keeps its id as it diffuses through objects and compute servers. */
export type ThreadId = string & { readonly __brand: "ThreadId" };
/** Page number inside a segment (page size: PAGE_SIZE). */
export type PageNo = number;
/** A class is registered by name; versions count upgrades (1, 2, ...). */
export type ClassName = string;

export type ServerRole = "name" | "data" | "compute";
/** The segments of an object's O space. */
export type SegmentRole = "code" | "data" | "heap" | "volatile";

/** Default page size (bytes): the unit of transfer, caching and coherence. */
export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SYSNAME_RE = /^sys:([a-z][a-z0-9_-]{0,31}):([0-9A-HJKMNP-TV-Z]{26})$/;
const SERVER_ID_RE = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * Random bytes for ULIDs, drawn from the OS a pool at a time: one getrandom call per id cost
 * a workstation ~20 µs of every invocation (each gets a new thread id).
 */
const RANDOM_POOL = new Uint8Array(4096);
let randomAt = RANDOM_POOL.length;

/** A fresh ULID: 10 time characters then 16 random ones. */
export function newUlid(now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  if (randomAt + 16 > RANDOM_POOL.length) {
    randomFillSync(RANDOM_POOL);
    randomAt = 0;
  }
  let rand = "";
  for (let i = 0; i < 16; i++) rand += CROCKFORD[RANDOM_POOL[randomAt + i] % 32];
  randomAt += 16;
  return time + rand;
}

export function newSysName(home: ServerId): SysName {
  return `sys:${home}:${newUlid()}` as SysName;
}

export function isSysName(value: unknown): value is SysName {
  return typeof value === "string" && SYSNAME_RE.test(value);
}

export function asSysName(value: string): SysName {
  if (!isSysName(value)) throw new TypeError(`not a sysname: ${JSON.stringify(value)}`);
  return value;
}

/** The home data server a sysname names as its routing hint. */
export function homeOf(sysname: SysName): ServerId {
  return sysname.split(":")[1] as ServerId;
}

export function isServerId(value: unknown): value is ServerId {
  return typeof value === "string" && SERVER_ID_RE.test(value);
}

export function asServerId(value: string): ServerId {
  if (!isServerId(value)) throw new TypeError(`not a server id: ${JSON.stringify(value)}`);
  return value;
}

export function newThreadId(origin: string): ThreadId {
  return `t:${origin}:${newUlid()}` as ThreadId;
}

/**
 * The unit of commit of an atomic thread (DESIGN §7a, issue 12): everything the thread writes
 * from its atomic root frame on commits under this id, or nothing does. The root's thread
 * id when a workstation invoked the atomic entry; an atomic entry started inside a
 * non-atomic thread gets an id of its own. A retry holds its monitors under an id of its own
 * (`#n` added), its decision is stored under the first. Printable ASCII, no spaces.
 */
export type AtomicId = string & { readonly __brand: "AtomicId" };

/** Longest atomic id accepted (a thread id and a suffix). */
export const MAX_ATOMIC_ID_LENGTH = 200;
const ATOMIC_ID_RE = /^[\x21-\x7e]+$/;

export function isAtomicId(value: unknown): value is AtomicId {
  return typeof value === "string" && value.length <= MAX_ATOMIC_ID_LENGTH && ATOMIC_ID_RE.test(value);
}

export function asAtomicId(value: string): AtomicId {
  if (!isAtomicId(value)) throw new TypeError(`not an atomic id: ${JSON.stringify(value)}`);
  return value;
}

/** The id of attempt `attempt` (from 0) of the atomic thread `base`: `base` itself, then `base#n`. */
export function attemptId(base: AtomicId, attempt: number): AtomicId {
  return (attempt === 0 ? base : `${base}#${attempt}`) as AtomicId;
}

/** The thread an attempt's id belongs to (where its decision is stored): attemptId undone. */
export function baseOfAttempt(id: AtomicId, attempt: number): AtomicId {
  const suffix = `#${attempt}`;
  return (attempt > 0 && id.endsWith(suffix) ? id.slice(0, -suffix.length) : id) as AtomicId;
}
