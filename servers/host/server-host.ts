/**
 * ServerHost: runs one server role in this process — the HTTP API (express) and the
 * socket.io transport on one port, the role's request handler, and its registration with
 * the name server under /sys/servers/<id>.
 *
 *   const host = await ServerHost.start(options, (ctx) => makeMyRole(ctx));
 *   ... host.address ...
 *   await host.close();
 *
 * The role is built after the port is bound (it may need the address) but before any
 * request is served: requests that arrive earlier wait for it. Every connection and HTTP
 * call must present the cluster token.
 *
 * Before anything else the host takes its state directory (StateDirLock): a second
 * process on the same directory fails to start with StateDirHeldError, never opens the
 * same files. `close()` gives the directory back. Once registered, the server registers
 * again whenever the name server comes back after losing it (Registration).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import createDebug from "debug";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import { SocketIoTransport } from "../transport/socket-io-transport.js";
import { PeerCache } from "../transport/peer-cache.js";
import type { Peer, RequestHandler, TransportServer } from "../transport/transport.js";
import { createHttpApi } from "./http-api.js";
import type { Figures } from "./metrics.js";
import type { ServerOptions } from "./server-options.js";
import { ServerDirectory } from "./server-directory.js";
import { StateDirLock } from "./state-dir-lock.js";
import { Registration } from "./registration.js";

const log = createDebug("servers:host");

export interface RoleService {
  handler: RequestHandler;
  /** Called for every accepted connection (e.g. to track compute servers). */
  attach?(peer: Peer): void;
  status(): unknown | Promise<unknown>;
  figures(): Figures;
  close(): Promise<void>;
}

export interface HostContext {
  options: ServerOptions;
  clock: LamportClock;
  /** Connections this process opens to other servers; they answer with the role's handler. */
  peers: PeerCache;
  /** Finds other servers (null for the name server itself). */
  servers: ServerDirectory | null;
  /** "host:port" this server listens on. */
  address: string;
}

export class ServerHost {
  private constructor(
    readonly options: ServerOptions,
    readonly address: string,
    private readonly http: Server,
    private readonly transport: TransportServer,
    private readonly peers: PeerCache,
    readonly role: RoleService,
    private readonly lock: StateDirLock,
    /** Keeps this server registered with the name server (null: it is the name server). */
    readonly registration: Registration | null,
  ) {}

  static async start(options: ServerOptions, makeRole: (ctx: HostContext) => Promise<RoleService>): Promise<ServerHost> {
    const lock = StateDirLock.acquire(options.dir, { id: options.id, role: options.role, nameServer: options.nameServer });
    try {
      return await ServerHost.serve(options, makeRole, lock);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  private static async serve(options: ServerOptions, makeRole: (ctx: HostContext) => Promise<RoleService>, lock: StateDirLock): Promise<ServerHost> {
    const clock = new LamportClock();
    let role: RoleService | undefined;
    let ready!: () => void;
    const roleReady = new Promise<void>((resolve) => (ready = resolve));
    const handler: RequestHandler = async (kind, body, ctx) => {
      if (!role) await roleReady;
      return role!.handler(kind, body, ctx);
    };
    const http = createServer();
    trackSockets(http);
    const port = await listen(http, options.host, options.port);
    const address = `${options.host}:${port}`;
    lock.announce(address);
    const transportImpl = new SocketIoTransport(clock, options.id);
    const transport = await transportImpl.listen({ host: options.host, port, token: options.token, httpServer: http }, handler);
    // Peers that connect while the role is being made (compute servers reconnect at once to a
    // restarted data server) are attached as soon as it is ready, before any of their requests
    // is handled: a home that never attached a holder can neither recall its copies nor
    // watch its lease.
    transport.onPeer((peer) => void roleReady.then(() => {
      if (!peer.closed) role!.attach?.(peer);
    }));
    const peers = new PeerCache(transportImpl, { token: options.token, localId: options.id, handler });
    const servers = options.nameServer ? new ServerDirectory(peers, options.nameServer) : null;
    try {
      role = await makeRole({ options, clock, peers, servers, address });
    } catch (err) {
      await Promise.allSettled([transport.close(), peers.close(), closeHttp(http)]);
      throw err;
    }
    ready();
    const info = { id: options.id, role: options.role, address, httpAddress: address, pid: process.pid };
    const registration = servers ? new Registration(peers, servers.nameServer, info, { onNameServer: (answered) => servers.noteNameServer(answered) }) : null;
    const figures = () => ({ ...role!.figures(), ...registration?.figures() });
    http.on("request", createHttpApi({ id: options.id, role: options.role, status: () => role!.status(), figures }, options.token));
    const host = new ServerHost(options, address, http, transport, peers, role, lock, registration);
    try {
      await registration?.start();
    } catch (err) {
      await host.close();
      throw err;
    }
    // Every server's address, known before the name server might become unreachable.
    void servers?.warm();
    log("%s (%s) serving on %s", options.id, options.role, address);
    return host;
  }

  async close(): Promise<void> {
    const started = performance.now();
    this.registration?.stop();
    await this.role.close().catch((err) => log("role close failed: %s", (err as Error).message));
    log("%s: role closed after %d ms", this.options.id, performance.now() - started);
    await this.peers.close();
    log("%s: connections closed after %d ms", this.options.id, performance.now() - started);
    await this.transport.close();
    await closeHttp(this.http);
    this.lock.release();
    log("%s closed in %d ms", this.options.id, performance.now() - started);
  }
}

function listen(http: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once("error", reject);
    http.listen(port, host, () => {
      http.off("error", reject);
      resolve((http.address() as AddressInfo).port);
    });
  });
}

const openSockets = new WeakMap<Server, Set<Socket>>();

/** Remembers every raw socket: upgraded (websocket) ones are invisible to closeAllConnections. */
function trackSockets(http: Server): void {
  const sockets = new Set<Socket>();
  openSockets.set(http, sockets);
  http.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
}

/** Stops listening and drops every connection at once: a frozen client cannot delay a stop. */
function closeHttp(http: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!http.listening) return resolve();
    http.close(() => resolve());
    http.closeAllConnections();
    for (const socket of openSockets.get(http) ?? []) socket.destroy();
  });
}
