/**
 * The name server's protocol: every message kind it answers, the reply each gets, the
 * decoders that turn an untrusted body into a typed NameRequest, and NameClient, the typed
 * caller over a Peer.
 *
 *   name.bind            {path, sysname, kind, meta?, replace?}   -> Binding
 *   name.lookup          {path}                                   -> Binding | null
 *   name.unbind          {path, force?}                           -> {removed}
 *   name.rename          {from, to, replace?}                     -> Binding
 *                        (/sys and what is under it are refused with ProtectedNameError:
 *                        renamed never, unbound only with force; bound only as a class
 *                        under /sys/classes — servers register with name.register-server)
 *   name.list            {path}                                   -> Binding[]
 *   name.register-server {id, role, address, httpAddress, pid}    -> Binding (/sys/servers/<id>)
 *   name.renew           {id, address}                            -> {renewed} (false: register again)
 *   name.servers         {all?}                                   -> Binding[] (live ones unless all)
 *   name.watch           {path}                                   -> {path}
 * and one push, from the name server to a peer that watched a prefix:
 *   name.changed         {path, binding: Binding | null, clock}   (reply ignored)
 *
 * Rules:
 * - `decodeNameRequest` is the only way a body reaches server logic. A missing or mistyped
 *   field is a BadRequestError naming the kind and field; a path that is a string but not a
 *   valid name path is a BadPathError; an unknown kind is an UnknownMessageError. Paths come
 *   out normalized.
 * - Sizes are bounded: paths 1024 characters once normalized, meta 16 KiB of JSON.
 * - Objects and classes are bound to a sysname; directories and servers may have null.
 *   Server bindings are always null: a server is reached by address, not by sysname.
 * - Server bindings in replies of name.servers, name.list, name.lookup and pushes carry the
 *   registry's view in their meta: `state` ("up" | "down") and `stateReason`
 *   (server-registry.ts). The stored meta is what the server registered, without them.
 */
import createDebug from "debug";
import type { Peer, RequestHandler, RequestOptions } from "../transport/transport.js";
import { isServerId, isSysName, type ServerId, type ServerRole, type SysName } from "../../ra-kernel/ids.js";
import { BadRequestError, UnknownMessageError } from "../transport/errors.js";
import { ProtectedNameError } from "./errors.js";
import { arr, asBody, check, int, obj, oneOf, optBool, str, type Body } from "../transport/schema.js";
import {
  BINDING_KINDS,
  isWithin,
  MAX_PATH_LENGTH,
  normalizePath,
  type BindOptions,
  type Binding,
  type BindingKind,
  type BindingMeta,
  type RenameOptions,
} from "./name-directory.js";

/** Largest `meta`, in characters of its JSON text. */
export const MAX_META_JSON = 16 * 1024;
/** Longest path string accepted before normalization (slashes may still collapse). */
const MAX_RAW_PATH = 4 * MAX_PATH_LENGTH;
const MAX_ADDRESS = 256;
const SERVER_ROLES: readonly ServerRole[] = ["name", "data", "compute"];
const log = createDebug("servers:name");

/** Where servers register themselves. */
export const SERVERS_DIR = "/sys/servers";
/** Where `load` binds each class name to its code segment's sysname (whose home stores it). */
export const CLASSES_DIR = "/sys/classes";
/** The push kind sent to watchers. */
export const NAME_CHANGED = "name.changed";
/** What the cluster keeps for itself: servers' registrations and classes (name.unbind/rename refuse it). */
export const SYSTEM_DIR = "/sys";

/** Whether a (normalized) path is /sys or under it. */
export function isSystemPath(path: string): boolean {
  return path === SYSTEM_DIR || path.startsWith(`${SYSTEM_DIR}/`);
}

/** The refusal of a change to a name under /sys: it cannot be `what` ("removed", "renamed"...). */
export function protectedName(path: string, what: string): ProtectedNameError {
  return new ProtectedNameError(`${path} is kept by the cluster (servers register under ${SERVERS_DIR}, load binds classes under ${CLASSES_DIR}): it cannot be ${what}`, { path });
}

export interface BindRequest {
  path: string;
  sysname: SysName | null;
  kind: BindingKind;
  meta: BindingMeta;
  replace: boolean;
}

export interface PathRequest {
  path: string;
}

export interface UnbindRequest {
  path: string;
  /** Unbind even a name under /sys (ProtectedNameError otherwise). */
  force: boolean;
}

export interface RenameRequest {
  from: string;
  to: string;
  replace: boolean;
}

/** What a server registers about itself (also its binding's meta). */
export interface ServerInfo {
  id: ServerId;
  role: ServerRole;
  /** "host:port" of its transport. */
  address: string;
  /** "host:port" of its HTTP endpoint (/health, /metrics). */
  httpAddress: string;
  pid: number;
}

/** A lease renewal: cheap, sent every few hundred ms by each registered server. */
export interface RenewRequest {
  id: ServerId;
  address: string;
}

export interface ServersRequest {
  /** Include servers the registry sees down. @default false */
  all: boolean;
}

export type NameRequest =
  | { kind: "name.bind"; body: BindRequest }
  | { kind: "name.lookup"; body: PathRequest }
  | { kind: "name.unbind"; body: UnbindRequest }
  | { kind: "name.rename"; body: RenameRequest }
  | { kind: "name.list"; body: PathRequest }
  | { kind: "name.register-server"; body: ServerInfo }
  | { kind: "name.renew"; body: RenewRequest }
  | { kind: "name.servers"; body: ServersRequest }
  | { kind: "name.watch"; body: PathRequest };

export type NameKind = NameRequest["kind"];

/** The reply of each kind. */
export interface NameReplies {
  "name.bind": Binding;
  "name.lookup": Binding | null;
  "name.unbind": { removed: boolean };
  "name.rename": Binding;
  "name.list": Binding[];
  "name.register-server": Binding;
  "name.renew": { renewed: boolean };
  "name.servers": Binding[];
  "name.watch": { path: string };
}

export type NameReply = NameReplies[NameKind];

/** The body of a `name.changed` push. `clock` is the name server's Lamport stamp of the change. */
export interface NameChanged {
  path: string;
  binding: Binding | null;
  clock: number;
}

const DECODERS: { [K in NameKind]: (kind: K, b: Body) => Extract<NameRequest, { kind: K }>["body"] } = {
  "name.bind": decodeBind,
  "name.lookup": decodePathBody,
  "name.unbind": decodeUnbind,
  "name.rename": decodeRename,
  "name.list": decodePathBody,
  "name.register-server": decodeServerInfo,
  "name.renew": decodeRenew,
  "name.servers": (kind, b) => ({ all: optBool(kind, b, "all") ?? false }),
  "name.watch": decodePathBody,
};

function isNameKind(kind: string): kind is NameKind {
  return Object.prototype.hasOwnProperty.call(DECODERS, kind);
}

/** Validates an incoming request; see the header for what it throws. */
export function decodeNameRequest(kind: string, body: unknown): NameRequest {
  if (typeof kind !== "string" || !isNameKind(kind)) {
    const shown = String(kind).slice(0, 64);
    throw new UnknownMessageError(`the name server does not know message kind '${shown}'`, { kind: shown });
  }
  const decode = DECODERS[kind] as (kind: NameKind, b: Body) => NameRequest["body"];
  return { kind, body: decode(kind, asBody(kind, body)) } as NameRequest;
}

function decodeBind(kind: string, b: Body): BindRequest {
  const bindingKind = oneOf(kind, b, "kind", BINDING_KINDS);
  const sysname = check(kind, b, "sysname", isSysNameOrNull, "a sysname or null");
  if (sysname === null && (bindingKind === "object" || bindingKind === "class")) {
    throw new BadRequestError(`${kind}: field 'sysname' must be a sysname for kind ${bindingKind}`, { kind, field: "sysname" });
  }
  const meta = b.meta === undefined ? {} : decodeMeta(kind, b, "meta");
  return { path: pathField(kind, b, "path"), sysname, kind: bindingKind, meta, replace: optBool(kind, b, "replace") ?? false };
}

function decodePathBody(kind: string, b: Body): PathRequest {
  return { path: pathField(kind, b, "path") };
}

function decodeUnbind(kind: string, b: Body): UnbindRequest {
  return { path: pathField(kind, b, "path"), force: optBool(kind, b, "force") ?? false };
}

function decodeRename(kind: string, b: Body): RenameRequest {
  return { from: pathField(kind, b, "from"), to: pathField(kind, b, "to"), replace: optBool(kind, b, "replace") ?? false };
}

function decodeServerInfo(kind: string, b: Body): ServerInfo {
  return {
    id: check(kind, b, "id", isServerId, "a server id ([a-z][a-z0-9_-]{0,31})"),
    role: oneOf(kind, b, "role", SERVER_ROLES),
    address: str(kind, b, "address", MAX_ADDRESS),
    httpAddress: str(kind, b, "httpAddress", MAX_ADDRESS),
    pid: int(kind, b, "pid", 1, 2 ** 32),
  };
}

function decodeRenew(kind: string, b: Body): RenewRequest {
  return { id: check(kind, b, "id", isServerId, "a server id ([a-z][a-z0-9_-]{0,31})"), address: str(kind, b, "address", MAX_ADDRESS) };
}

/** A path field, normalized (BadPathError if it is a string but not a valid path). */
function pathField(kind: string, b: Body, field: string): string {
  return normalizePath(str(kind, b, field, MAX_RAW_PATH));
}

/** A JSON-safe object of at most MAX_META_JSON characters, returned as a detached copy. */
function decodeMeta(kind: string, b: Body, field: string): BindingMeta {
  const value = obj(kind, b, field);
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch {
    throw new BadRequestError(`${kind}: field '${field}' must be JSON`, { kind, field });
  }
  if (json.length > MAX_META_JSON) {
    throw new BadRequestError(`${kind}: field '${field}' is larger than ${MAX_META_JSON} characters of JSON`, { kind, field });
  }
  return JSON.parse(json) as BindingMeta;
}

function isSysNameOrNull(v: unknown): v is SysName | null {
  return v === null || isSysName(v);
}

/** Validates a Binding value (a reply, or inside a push); `kind` names the message for errors. */
export function decodeBinding(kind: string, value: unknown): Binding {
  const b = asBody(kind, value);
  return {
    path: str(kind, b, "path", MAX_PATH_LENGTH),
    sysname: check(kind, b, "sysname", isSysNameOrNull, "a sysname or null"),
    kind: oneOf(kind, b, "kind", BINDING_KINDS),
    meta: decodeMeta(kind, b, "meta"),
    updatedAt: int(kind, b, "updatedAt"),
  };
}

function decodeBindingOrNull(kind: string, value: unknown): Binding | null {
  return value === null || value === undefined ? null : decodeBinding(kind, value);
}

function decodeBindings(kind: string, value: unknown): Binding[] {
  return arr(kind, { list: value }, "list").map((v) => decodeBinding(kind, v));
}

/** Validates the body of a `name.changed` push. */
export function decodeNameChanged(body: unknown): NameChanged {
  const b = asBody(NAME_CHANGED, body);
  return {
    path: str(NAME_CHANGED, b, "path", MAX_PATH_LENGTH),
    binding: decodeBindingOrNull(NAME_CHANGED, b.binding),
    clock: int(NAME_CHANGED, b, "clock"),
  };
}

/** The ServerInfo a server binding's meta holds, or null if it holds none. */
export function serverInfoOf(b: Binding): ServerInfo | null {
  const m = b.meta;
  if (typeof m.id !== "string" || typeof m.address !== "string") return null;
  return { id: m.id as ServerId, role: m.role as ServerRole, address: m.address, httpAddress: String(m.httpAddress ?? ""), pid: Number(m.pid ?? 0) };
}

export type NameChangeListener = (change: NameChanged) => void;

/**
 * The typed client of a name server over one Peer. Paths may be plain (`RectA`) or
 * absolute; the server normalizes them. Errors come back as the named classes of
 * ./errors.js (NameExistsError...), rebuilt by the transport.
 *
 * Pushes for `watch` arrive as `name.changed` requests on the peer: install `handler`
 * (`peer.setHandler(client.handler)`), or call it from the peer's own handler for that kind.
 */
export class NameClient {
  /** Local listeners, each for a normalized prefix. */
  private readonly watches = new Set<{ prefix: string; listener: NameChangeListener }>();

  constructor(readonly peer: Peer) {}

  /** Handles `name.changed` pushes; any other kind is an UnknownMessageError. */
  readonly handler: RequestHandler = (kind, body) => {
    if (kind !== NAME_CHANGED) throw new UnknownMessageError(`the name client does not handle '${String(kind).slice(0, 64)}'`, { kind });
    this.dispatch(decodeNameChanged(body));
    return null;
  };

  async bind(path: string, sysname: SysName | null, kind: BindingKind, options: BindOptions = {}): Promise<Binding> {
    const body = { path, sysname, kind, meta: options.meta, replace: options.replace };
    return decodeBinding("name.bind", await this.peer.request("name.bind", body));
  }

  async lookup(path: string): Promise<Binding | null> {
    return decodeBindingOrNull("name.lookup", await this.peer.request("name.lookup", { path }));
  }

  /** True when something was removed. */
  /** `force`: even a name under /sys (ProtectedNameError without it). */
  async unbind(path: string, options: { force?: boolean } = {}): Promise<boolean> {
    const reply = asBody("name.unbind", await this.peer.request("name.unbind", options.force ? { path, force: true } : { path }));
    return reply.removed === true;
  }

  async rename(from: string, to: string, options: RenameOptions = {}): Promise<Binding> {
    const body = { from, to, replace: options.replace };
    return decodeBinding("name.rename", await this.peer.request("name.rename", body));
  }

  async list(path: string): Promise<Binding[]> {
    return decodeBindings("name.list", await this.peer.request("name.list", { path }));
  }

  /** Binds (or rebinds) `/sys/servers/<id>` with `info` as its meta. */
  async registerServer(info: ServerInfo, options: RequestOptions = {}): Promise<Binding> {
    return decodeBinding("name.register-server", await this.peer.request("name.register-server", { ...info }, options));
  }

  /** Extends this server's lease; false: the name server does not know it (register again). */
  async renew(id: ServerId, address: string, options: RequestOptions = {}): Promise<boolean> {
    const reply = asBody("name.renew", await this.peer.request("name.renew", { id, address }, options));
    return reply.renewed === true;
  }

  /** Registered servers the registry sees up, or all of them (`all`), each with `meta.state`. */
  async servers(options: { all?: boolean } = {}): Promise<Binding[]> {
    return decodeBindings("name.servers", await this.peer.request("name.servers", { all: options.all === true }));
  }

  /**
   * Asks for pushes of every change at or below `path`, delivered to `listener` (through
   * `handler`). Returns the function that stops local delivery; the server keeps pushing
   * until the connection closes.
   */
  async watch(path: string, listener: NameChangeListener): Promise<() => void> {
    const entry = { prefix: normalizePath(path), listener };
    this.watches.add(entry);
    try {
      await this.peer.request("name.watch", { path });
    } catch (err) {
      this.watches.delete(entry);
      throw err;
    }
    return () => this.watches.delete(entry);
  }

  private dispatch(change: NameChanged): void {
    for (const { prefix, listener } of this.watches) {
      if (!isWithin(change.path, prefix)) continue;
      try {
        listener(change);
      } catch (err) {
        log("watch listener for %s failed: %O", prefix, err);
      }
    }
  }
}
