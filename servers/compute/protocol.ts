/**
 * The compute server's protocol: invocations from workstations (and, later, other compute
 * servers), object creation, and invalidations from homes. Decoded and validated here.
 *
 *   compute.invoke     {thread, depth, target, entry, args, deadline?} -> {value, server, load}
 *   compute.create     {className, classVersion?, home?, args, thread} -> {descriptor, server}
 *   compute.invalidate {pages: [{segment, page}], epoch}               -> {invalidated}
 *   compute.status     {}                                              -> ComputeStatus
 */
import { isServerId, isSysName, type PageNo, type ServerId, type SysName, type ThreadId } from "../../ra-kernel/ids.js";
import type { ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import { UnknownMessageError } from "../transport/errors.js";
import { arr, asBody, check, int, optInt, str, type Body } from "../transport/schema.js";
import type { Peer, RequestOptions } from "../transport/transport.js";

export interface ComputeLoad {
  /** Isibas in progress. */
  running: number;
  /** Event-loop lag (ms, recent). */
  lagMs: number;
}

export interface ComputeStatus {
  serverId: string;
  load: ComputeLoad;
  objects: number;
  cachedPages: number;
  workers: number;
  counters: Record<string, number>;
}

export type ComputeRequest =
  | { kind: "compute.invoke"; thread: ThreadId; depth: number; target: SysName; entry: string; args: unknown[]; deadline?: number }
  | { kind: "compute.create"; className: string; classVersion?: number; home?: ServerId; args: unknown[]; thread: ThreadId }
  | { kind: "compute.invalidate"; pages: { segment: SysName; page: PageNo }[]; epoch: number }
  | { kind: "compute.status" };

export interface ComputeReplies {
  "compute.invoke": { value: unknown; server: string; load: ComputeLoad };
  "compute.create": { descriptor: ObjectDescriptor; server: string };
  "compute.invalidate": { invalidated: number };
  "compute.status": ComputeStatus;
}

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
        entry: entryName(kind, b), args: arr(kind, b, "args", MAX_ARGS), deadline: optInt(kind, b, "deadline"),
      };
    case "compute.create":
      return {
        kind, className: check(kind, b, "className", (v): v is string => typeof v === "string" && CLASS_NAME_RE.test(v), "a class name"), classVersion: optInt(kind, b, "classVersion", 1),
        home: b.home === undefined ? undefined : check(kind, b, "home", isServerId, "a server id"),
        args: arr(kind, b, "args", MAX_ARGS), thread: thread(kind, b),
      };
    case "compute.invalidate":
      return { kind, pages: arr(kind, b, "pages", 1_000_000).map((p, i) => pageRef(kind, p, i)), epoch: int(kind, b, "epoch") };
    case "compute.status": return { kind };
    default: throw new UnknownMessageError(`compute server: unknown message kind '${kind}'`, { kind });
  }
}

function pageRef(kind: string, value: unknown, i: number): { segment: SysName; page: PageNo } {
  const k = `${kind} pages[${i}]`;
  const b = asBody(k, value);
  return { segment: check(k, b, "segment", isSysName, "a sysname"), page: int(k, b, "page", 0, 2 ** 31) };
}

/** Typed calls to one compute server over a Peer. */
export class ComputeClient {
  constructor(readonly peer: Peer) {}

  call<K extends keyof ComputeReplies>(kind: K, body: Omit<Extract<ComputeRequest, { kind: K }>, "kind">, options?: RequestOptions): Promise<ComputeReplies[K]> {
    return this.peer.request<ComputeReplies[K]>(kind, body, options);
  }
}
