/**
 * ServerDirectory: how a process finds other servers — through the name server's registry
 * under /sys/servers (DESIGN §3), and without it while the name server is unreachable.
 *
 *   const servers = new ServerDirectory(peers, "127.0.0.1:7000");
 *   await servers.list("compute");        // live compute servers (the registry's view)
 *   await servers.address("ds1");         // cached; forget("ds1") when it could not be reached
 *   await servers.registry();             // every registered server with its state
 *   (await servers.names()).lookup("R");  // a NameClient whose calls time out in 2 s
 *
 * Stale-while-error: every registry answer is kept (`snapshot`, `lastAddress`). A registry
 * call waits at most `registryTimeoutMs`; when the name server does not answer, the call gets
 * the last known answer, the directory counts the name server unreachable, and from then on
 * registry calls answer from memory at once while one request at a time asks again in the
 * background; the first answer makes it reachable again. Name calls (`names()`) meanwhile
 * fail at once. So invocations of known servers and bound objects go on without the name
 * server; only what needs a new answer from it (a name lookup, a first registry list)
 * fails, with NameServerUnreachableError, and no caller waits for it more than once.
 *
 * Addresses are cached; a caller that fails to reach an address calls `forget(id)` so the
 * next lookup asks the name server again (a restarted server re-registers with a new port).
 * A miss fetches the whole registry, and a server fetches it once registered (`warm`), so
 * every address known at that time is still known during a later outage.
 * `onChange` listeners hear of each registry answer that differs from the one before.
 */
import createDebug from "debug";
import type { ServerId, ServerRole } from "../../ra-kernel/ids.js";
import { NameServerUnreachableError } from "../name/errors.js";
import { NameClient, serverInfoOf, type ServerInfo } from "../name/protocol.js";
import type { Binding } from "../name/name-directory.js";
import type { PeerCache } from "../transport/peer-cache.js";
import { RequestTimeoutError, ServerUnreachableError } from "../transport/errors.js";
import { NameServerPeer, nameServerUnreachable } from "./name-server-peer.js";
import type { ServerDirectoryOptions } from "./server-directory-options.js";
import { within } from "./within.js";

export { serverInfoOf } from "../name/protocol.js";

const log = createDebug("servers:host:directory");

/** A registered server as the registry sees it. */
export interface RegisteredServer extends ServerInfo {
  state: "up" | "down";
  /** Why, as the name server put it ("lease ran out 0.4 s ago"). */
  stateReason: string;
}

/** The registry and how fresh it is. */
export interface RegistryView {
  servers: RegisteredServer[];
  /** False: the name server did not answer; this is the last answer it gave (at `asOf`). */
  fresh: boolean;
  /** When the name server gave this answer (ms since the epoch; 0: never). */
  asOf: number;
}

export class ServerDirectory {
  /** Addresses to use now; `forget` drops one so the next `address` asks again. */
  private readonly addresses = new Map<string, string>();
  /** Every address ever learned, kept through `forget`: the fallback while the name server is away. */
  private readonly lastAddress = new Map<string, string>();
  /** The last registry answer, or null before the first. */
  private snapshot: RegisteredServer[] | null = null;
  private asOf = 0;
  /** False from a call the name server did not answer until the next one it answers. */
  /** The name server answered the latest registry call in time (else: serve the registry from memory). */
  private reachable = true;
  /**
   * The name server is down for name calls: its connection is lost, or a name call (which
   * waits much longer than a registry call) got no answer. Only then do name calls fail at
   * once: a registry call that was merely slow (a loaded name server) must not fail lookups.
   */
  private down = false;
  /** The registry request under way, shared by concurrent callers. */
  private fetching: Promise<RegisteredServer[]> | null = null;
  private readonly listeners = new Set<(servers: RegisteredServer[]) => void>();
  private readonly registryTimeoutMs: number;
  private readonly nameTimeoutMs: number;

  constructor(
    private readonly peers: PeerCache,
    readonly nameServer: string,
    options: ServerDirectoryOptions = {},
  ) {
    this.registryTimeoutMs = options.registryTimeoutMs ?? 1500;
    this.nameTimeoutMs = options.nameTimeoutMs ?? 5000;
  }

  /**
   * A NameClient whose calls fail with NameServerUnreachableError after `nameTimeoutMs` — or
   * at once while the name server is known unreachable (a background request asks again).
   */
  async names(): Promise<NameClient> {
    const refusal = this.refusal();
    if (refusal) throw refusal;
    return new NameClient(await this.nameServerPeer(this.nameTimeoutMs, () => this.refusal(), () => this.markUnreachable(true)));
  }

  /**
   * What another caller of the same name server saw (Registration's renewals): not answering
   * makes name calls fail at once and registry calls answer from memory; answering again
   * lets the next call ask it.
   */
  noteNameServer(answered: boolean): void {
    if (!answered) this.markUnreachable(true);
    else this.markReachable();
  }

  /** Whether the name server answered the latest call that needed it. */
  get nameServerReachable(): boolean {
    return this.reachable;
  }

  /**
   * The transport address of a server id (also while the name server is away, if ever
   * known). A miss asks for the whole registry, so one miss learns every server's address.
   */
  async address(id: ServerId): Promise<string> {
    const cached = this.addresses.get(id);
    if (cached) return cached;
    const known = this.lastAddress.get(id);
    if (!this.reachable && known) {
      this.fetch().catch(() => undefined);
      return known;
    }
    let servers: RegisteredServer[];
    try {
      servers = await this.fetch();
    } catch (err) {
      if (known && err instanceof NameServerUnreachableError) return known;
      throw err;
    }
    const address = servers.find((s) => s.id === id)?.address;
    if (address === undefined) {
      throw new ServerUnreachableError(`server ${id} is not registered with the name server`, { peer: id, address: "" });
    }
    this.addresses.set(id, address);
    return address;
  }

  /** Learns the registry now (a server calls it once registered): addresses for a later outage. */
  async warm(): Promise<void> {
    await this.view().catch((err: unknown) => log("could not learn the registry: %s", (err as Error)?.message));
  }

  forget(id: ServerId): void {
    this.addresses.delete(id);
  }

  /** Registered servers the registry sees up, optionally of one role (see the header). */
  async list(role?: ServerRole): Promise<ServerInfo[]> {
    return liveOf(await this.view(), role);
  }

  /** Every registered server with its state, and whether the name server just said so. */
  async registry(): Promise<RegistryView> {
    const servers = await this.view();
    return { servers, fresh: this.reachable, asOf: this.asOf };
  }

  /** The live servers of the last registry answer, without asking (empty before the first). */
  cached(role?: ServerRole): ServerInfo[] {
    return liveOf(this.snapshot ?? [], role);
  }

  /** Called with each registry answer that differs from the one before; returns the unsubscribe. */
  onChange(listener: (servers: RegisteredServer[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async view(): Promise<RegisteredServer[]> {
    if (!this.reachable && this.snapshot) {
      this.fetch().catch(() => undefined);
      return this.snapshot;
    }
    try {
      return await this.fetch();
    } catch (err) {
      if (this.snapshot && err instanceof NameServerUnreachableError) return this.snapshot;
      throw err;
    }
  }

  private fetch(): Promise<RegisteredServer[]> {
    this.fetching ??= this.ask().finally(() => (this.fetching = null));
    return this.fetching;
  }

  private async ask(): Promise<RegisteredServer[]> {
    const bindings = await (await this.registryClient()).servers({ all: true });
    this.markReachable();
    const servers = bindings.map(registeredOf).filter((s): s is RegisteredServer => s !== null);
    this.remember(servers);
    return servers;
  }

  private remember(servers: RegisteredServer[]): void {
    const changed = this.snapshot === null || signature(this.snapshot) !== signature(servers);
    this.snapshot = servers;
    this.asOf = Date.now();
    for (const s of servers) this.lastAddress.set(s.id, s.address);
    if (!changed) return;
    for (const listener of this.listeners) {
      try {
        listener(servers);
      } catch (err) {
        log("registry listener failed: %O", err);
      }
    }
  }

  private async registryClient(): Promise<NameClient> {
    return new NameClient(await this.nameServerPeer(this.registryTimeoutMs));
  }

  /** While the name server is known unreachable: the error to fail with at once (and ask again behind). */
  private refusal(): NameServerUnreachableError | null {
    if (!this.down) return null;
    this.fetch().catch(() => undefined);
    const since = this.asOf === 0 ? "" : ` since ${new Date(this.asOf).toISOString()}`;
    return new NameServerUnreachableError(`name server at ${this.nameServer} is unreachable (no answer${since}; asking again)`, { peer: "name server", address: this.nameServer });
  }

  /** The name server's connection, opened within `timeoutMs`, with its calls bounded by it. */
  private async nameServerPeer(
    timeoutMs: number,
    refuse?: () => NameServerUnreachableError | null,
    unreachable: (err?: unknown) => void = (err) => this.markUnreachable(!(err instanceof RequestTimeoutError)),
  ): Promise<NameServerPeer> {
    try {
      return new NameServerPeer(await within(this.peers.get(this.nameServer), timeoutMs, `no connection within ${timeoutMs} ms`), timeoutMs, unreachable, refuse);
    } catch (err) {
      unreachable(err);
      throw nameServerUnreachable(this.nameServer, err);
    }
  }

  /** No answer in time (`down`: or no connection at all, or a name call's long wait ran out). */
  private markUnreachable(down: boolean): void {
    if (this.reachable) log("the name server at %s does not answer; serving the registry as of %s", this.nameServer, new Date(this.asOf).toISOString());
    this.reachable = false;
    if (down) this.down = true;
  }

  private markReachable(): void {
    if (!this.reachable || this.down) log("the name server at %s answers again", this.nameServer);
    this.reachable = true;
    this.down = false;
  }
}

function liveOf(servers: RegisteredServer[], role?: ServerRole): ServerInfo[] {
  return servers.filter((s) => s.state === "up" && (!role || s.role === role)).map(({ id, role: r, address, httpAddress, pid }) => ({ id, role: r, address, httpAddress, pid }));
}

function registeredOf(b: Binding): RegisteredServer | null {
  const info = serverInfoOf(b);
  if (!info) return null;
  // A name server older than leases sends no state: everything it lists counts as up.
  const state = b.meta.state === "down" ? "down" : "up";
  return { ...info, state, stateReason: String(b.meta.stateReason ?? "") };
}

/** What listeners care about: who, where, up or down. */
function signature(servers: RegisteredServer[]): string {
  return servers.map((s) => `${s.id}@${s.address}:${s.state}`).sort().join(",");
}
