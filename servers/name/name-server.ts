/**
 * NameServer: the name server role's request logic over a NameDirectory.
 *
 * The process host (not this class) opens the transport and routes every request to
 * `handler`; this class decodes it (protocol.ts), answers from the directory and pushes
 * `name.changed` to peers that watch a prefix. It opens no socket and no HTTP endpoint.
 *
 * Rules:
 * - `handler` never trusts a body: decodeNameRequest validates it first; whatever it throws
 *   goes back to the caller as an error reply. Bad input never changes stored bindings.
 * - Pushes are fire and forget: never awaited, failures only logged. A watcher is dropped
 *   when its peer closes (peer.onClose) or is found closed when a change is pushed.
 * - The server owns its directory from construction: `close()` stops pushes and closes it.
 * - Registrations are leased (ServerRegistry): `name.register-server` stores the binding and
 *   starts a lease, `name.renew` extends it. The registry's view decorates every server
 *   binding it answers with (`meta.state`, `meta.stateReason`); `name.servers` leaves down
 *   servers out unless asked for all. A server going up or down is pushed to watchers of its
 *   path like a change of its binding. `ls /sys/servers` (name.list) shows all, with state.
 */
import createDebug from "debug";
import type { ServerId } from "../../ra-kernel/ids.js";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import { BadRequestError } from "../transport/errors.js";
import type { Peer, RequestContext, RequestHandler } from "../transport/transport.js";
import { NameNotFoundError, ProtectedNameError } from "./errors.js";
import { isWithin, type Binding, type BindingChange, type NameDirectory } from "./name-directory.js";
import type { NameServerOptions } from "./name-server-options.js";
import {
  CLASSES_DIR,
  decodeNameRequest,
  isSystemPath,
  NAME_CHANGED,
  protectedName,
  SERVERS_DIR,
  SYSTEM_DIR,
  type NameChanged,
  type NameReply,
  type NameRequest,
  type RenewRequest,
  type ServerInfo,
} from "./protocol.js";
import { ServerRegistry } from "./server-registry.js";

const log = createDebug("servers:name");

export class NameServer {
  /** Answers one request of the name protocol. */
  readonly handler: RequestHandler = (kind, body, ctx) => this.handle(kind, body, ctx);

  /** Watched prefixes by peer; an entry lives until its peer closes. */
  private readonly watchers = new Map<Peer, Set<string>>();
  private readonly clock: LamportClock;
  private readonly maxWatchesPerPeer: number;
  private readonly pushTimeoutMs: number;
  private readonly unsubscribe: () => void;
  /** Leases of registered servers: which of them the registry view shows up. */
  readonly registry: ServerRegistry;
  /** Reports leases that ran out (renewals and closes report at once). */
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly directory: NameDirectory,
    options: NameServerOptions = {},
  ) {
    this.clock = options.clock ?? new LamportClock();
    this.maxWatchesPerPeer = options.maxWatchesPerPeer ?? 1000;
    this.pushTimeoutMs = options.pushTimeoutMs ?? 10_000;
    this.registry = new ServerRegistry({ selfId: options.selfId, leaseMs: options.leaseMs, graceMs: options.restartGraceMs, now: options.now });
    this.unsubscribe = directory.onChange((change) => this.publish(this.decorate(change)));
    this.registry.onTransition((id) => void this.publishState(id));
    this.sweeper = setInterval(() => this.registry.sweep(), options.sweepMs ?? 250);
    this.sweeper.unref();
  }

  /** Stops pushes, forgets watchers and closes the directory. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.unsubscribe();
    this.watchers.clear();
    await this.directory.close();
  }

  private async handle(kind: string, body: unknown, ctx: RequestContext): Promise<NameReply> {
    const request = decodeNameRequest(kind, body);
    log("%s from %s", kind, ctx.peer.remoteId);
    return this.dispatch(request, ctx.peer);
  }

  private async dispatch(req: NameRequest, peer: Peer): Promise<NameReply> {
    const d = this.directory;
    switch (req.kind) {
      case "name.bind": {
        const { path, sysname, kind, meta, replace } = req.body;
        checkSystemBind(path, kind);
        return d.bind(path, sysname, kind, { meta, replace });
      }
      case "name.lookup":
        return this.withState(await d.lookup(req.body.path));
      case "name.unbind":
        return { removed: await this.unbind(req.body.path, req.body.force) };
      case "name.rename":
        for (const p of [req.body.from, req.body.to]) if (isSystemPath(p)) throw protectedName(p, "renamed");
        return d.rename(req.body.from, req.body.to, { replace: req.body.replace });
      case "name.list":
        return (await d.list(req.body.path)).map((b) => this.withState(b));
      case "name.register-server":
        return this.registerServer(req.body, peer);
      case "name.renew":
        return this.renew(req.body, peer);
      case "name.servers":
        return this.servers(req.body.all);
      case "name.watch":
        return this.watch(peer, req.body.path);
    }
  }

  /** Server bindings have a null sysname: a server is reached by address. The lease starts once stored. */
  private async registerServer(info: ServerInfo, peer: Peer): Promise<Binding> {
    log("server %s (%s) at %s", info.id, info.role, info.address);
    const meta = { id: info.id, role: info.role, address: info.address, httpAddress: info.httpAddress, pid: info.pid };
    const binding = await this.directory.bind(`${SERVERS_DIR}/${info.id}`, null, "server", { meta, replace: true });
    this.registry.register(info, peer);
    return binding;
  }

  /**
   * A name under /sys goes only when forced; a server's registration so removed loses its lease
   * too, so that server's next renewal is refused and it registers again.
   */
  private async unbind(path: string, force: boolean): Promise<boolean> {
    if (isSystemPath(path) && !force) throw protectedName(path, "removed (rm --force removes it anyway)");
    const removed = await this.directory.unbind(path);
    if (removed && path.startsWith(`${SERVERS_DIR}/`)) this.registry.forget(path.slice(SERVERS_DIR.length + 1) as ServerId);
    return removed;
  }

  private renew(req: RenewRequest, peer: Peer): { renewed: boolean } {
    const renewed = this.registry.renew(req.id, req.address, peer);
    if (!renewed) log("renewal of %s at %s refused: no such lease (it registers again)", req.id, req.address);
    return { renewed };
  }

  /** The registry view: live servers, or all with their state. */
  private async servers(all: boolean): Promise<Binding[]> {
    try {
      const servers = (await this.directory.list(SERVERS_DIR)).filter((b) => b.kind === "server").map((b) => this.withState(b));
      return all ? servers : servers.filter((b) => b.meta.state === "up");
    } catch (err) {
      if (err instanceof NameNotFoundError) return [];
      throw err;
    }
  }

  /** A server binding with the registry's view in its meta; any other binding as it is. */
  private withState<B extends Binding | null>(binding: B): B {
    if (!binding || binding.kind !== "server" || !isWithin(binding.path, SERVERS_DIR)) return binding;
    const { state, reason } = this.registry.stateOf(String(binding.meta.id ?? binding.path.slice(SERVERS_DIR.length + 1)));
    return { ...binding, meta: { ...binding.meta, state, stateReason: reason } };
  }

  private decorate(change: BindingChange): BindingChange {
    return { path: change.path, binding: this.withState(change.binding) };
  }

  /** Pushes a server's new state to watchers of its path, as a change of its binding. */
  private async publishState(id: ServerId): Promise<void> {
    if (this.watchers.size === 0) return;
    const path = `${SERVERS_DIR}/${id}`;
    try {
      this.publish({ path, binding: this.withState(await this.directory.lookup(path)) });
    } catch (err) {
      log("push of %s's state failed: %s", id, (err as Error)?.message);
    }
  }

  private watch(peer: Peer, path: string): { path: string } {
    let prefixes = this.watchers.get(peer);
    if (!prefixes) {
      if (peer.closed) return { path };
      prefixes = new Set();
      this.watchers.set(peer, prefixes);
      peer.onClose(() => this.forget(peer));
    }
    if (!prefixes.has(path) && prefixes.size >= this.maxWatchesPerPeer) {
      throw new BadRequestError(`name.watch: a peer may watch at most ${this.maxWatchesPerPeer} paths`, { kind: "name.watch", field: "path" });
    }
    prefixes.add(path);
    log("%s watches %s", peer.remoteId, path);
    return { path };
  }

  private forget(peer: Peer): void {
    if (this.watchers.delete(peer)) log("%s no longer watches", peer.remoteId);
  }

  /** Pushes one change to every peer watching a prefix of its path (once per peer). */
  private publish(change: BindingChange): void {
    if (this.watchers.size === 0) return;
    const push: NameChanged = { path: change.path, binding: change.binding, clock: this.clock.tick() };
    for (const [peer, prefixes] of this.watchers) {
      if (peer.closed) this.forget(peer);
      else if ([...prefixes].some((prefix) => isWithin(change.path, prefix))) this.send(peer, push);
    }
  }

  private send(peer: Peer, push: NameChanged): void {
    try {
      peer.request(NAME_CHANGED, push, { timeoutMs: this.pushTimeoutMs }).catch((err: unknown) => {
        log("push of %s to %s failed: %s", push.path, peer.remoteId, (err as Error)?.message);
      });
    } catch (err) {
      log("push of %s to %s failed: %s", push.path, peer.remoteId, (err as Error)?.message);
    }
  }
}

/** Under /sys only load binds, and only classes directly under /sys/classes (servers use name.register-server). */
function checkSystemBind(path: string, kind: string): void {
  if (!isSystemPath(path)) return;
  if (kind === "class" && path.startsWith(`${CLASSES_DIR}/`) && !path.slice(CLASSES_DIR.length + 1).includes("/")) return;
  throw new ProtectedNameError(`${path} is under ${SYSTEM_DIR}, which the cluster keeps: only load binds names there (classes, under ${CLASSES_DIR})`, { path });
}
