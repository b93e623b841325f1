/**
 * The data server's protocol: every message a data server answers, and its typed client.
 *
 * Requests come from compute servers (pages, descriptors, class code) and workstations
 * (class registration, object creation through a compute server). `decodeDataRequest`
 * validates a body where bytes become values: a malformed message gets BadRequestError
 * naming the field, never reaches DataServer logic.
 *
 *   data.hello          {serverId}                      -> {serverId, epoch}
 *   data.page.read      {segment, page, mode}           -> {bytes|null, version, epoch}
 *   data.page.commit    {pages: [{segment,page,bytes}]} -> {versions, epoch}
 *   data.object.create  {className, classVersion}       -> ObjectDescriptor (class resolved by the caller)
 *   data.object.get     {sysname}                       -> ObjectDescriptor | null
 *   data.object.delete  {sysname}                       -> {removed}
 *   data.object.list    {}                              -> ObjectDescriptor[]
 *   data.class.register {name, code, entries, sourceFile, sourceHash} -> {class (no code), created}
 *   data.class.get      {name, version?}                -> ClassSegment | null
 *   data.class.list     {}                              -> ClassSummary[]
 *   data.status         {}                              -> DataStatus
 */
import { isSysName, PAGE_SIZE, type SysName } from "../../ra-kernel/ids.js";
import type { ClassSegment, ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import type { EntrySignature, ParamInfo } from "../../objects/entry-signature.js";
import type { Peer, RequestOptions } from "../transport/transport.js";
import { UnknownMessageError, BadRequestError } from "../transport/errors.js";
import { arr, asBody, bytes, check, int, oneOf, optInt, str, type Body } from "../transport/schema.js";

export interface PageWriteMsg {
  segment: SysName;
  page: number;
  bytes: Uint8Array;
}

export type ClassSummary = Omit<ClassSegment, "code">;

export interface DataStatus {
  serverId: string;
  epoch: number;
  objects: number;
  classes: number;
  directoryPages: number;
  commits: number;
  transactions: number;
}

export type DataRequest =
  | { kind: "data.hello"; serverId: string }
  | { kind: "data.page.read"; segment: SysName; page: number; mode: "read" | "write" }
  | { kind: "data.page.commit"; pages: PageWriteMsg[] }
  | { kind: "data.object.create"; className: string; classVersion: number }
  | { kind: "data.object.get"; sysname: SysName }
  | { kind: "data.object.delete"; sysname: SysName }
  | { kind: "data.object.list" }
  | { kind: "data.class.register"; name: string; code: string; entries: EntrySignature[]; sourceFile: string; sourceHash: string }
  | { kind: "data.class.get"; name: string; version?: number }
  | { kind: "data.class.list" }
  | { kind: "data.status" };

export interface DataReplies {
  "data.hello": { serverId: string; epoch: number };
  "data.page.read": { bytes: Uint8Array | null; version: number; epoch: number };
  "data.page.commit": { versions: number[]; epoch: number };
  "data.object.create": ObjectDescriptor;
  "data.object.get": ObjectDescriptor | null;
  "data.object.delete": { removed: boolean };
  "data.object.list": ObjectDescriptor[];
  "data.class.register": { class: ClassSummary; created: boolean };
  "data.class.get": ClassSegment | null;
  "data.class.list": ClassSummary[];
  "data.status": DataStatus;
}

const CLASS_NAME_RE = /^[A-Za-z_$][\w$]{0,127}$/;
const MAX_CODE = 16 * 1024 * 1024;
const MAX_PAGES_PER_COMMIT = 16_384;

const sysname = (kind: string, b: Body, field: string) => check(kind, b, field, isSysName, "a sysname");
const className = (kind: string, b: Body, field: string) =>
  check(kind, b, field, (v): v is string => typeof v === "string" && CLASS_NAME_RE.test(v), "a class name");

export function decodeDataRequest(kind: string, body: unknown): DataRequest {
  const b = asBody(kind, body ?? {});
  switch (kind) {
    case "data.hello": return { kind, serverId: str(kind, b, "serverId", 64) };
    case "data.page.read":
      return { kind, segment: sysname(kind, b, "segment"), page: int(kind, b, "page", 0, 2 ** 31), mode: oneOf(kind, b, "mode", ["read", "write"] as const) };
    case "data.page.commit": return { kind, pages: arr(kind, b, "pages", MAX_PAGES_PER_COMMIT).map((p, i) => pageWrite(kind, p, i)) };
    case "data.object.create": return { kind, className: className(kind, b, "className"), classVersion: int(kind, b, "classVersion", 1) };
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
    default: throw new UnknownMessageError(`data server: unknown message kind '${kind}'`, { kind });
  }
}

function pageWrite(kind: string, value: unknown, i: number): PageWriteMsg {
  const b = asBody(`${kind} pages[${i}]`, value);
  const k = `${kind} pages[${i}]`;
  return { segment: sysname(k, b, "segment"), page: int(k, b, "page", 0, 2 ** 31), bytes: bytes(k, b, "bytes", PAGE_SIZE) };
}

function entrySignature(kind: string, value: unknown, i: number): EntrySignature {
  const k = `${kind} entries[${i}]`;
  const b = asBody(k, value);
  const name = str(k, b, "name", 128);
  const exclusive = b.exclusive === true;
  if (b.params === null) return { name, exclusive, params: null };
  const params = arr(k, b, "params", 256).map((p, j) => paramInfo(`${k} params[${j}]`, p));
  return { name, exclusive, params };
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
