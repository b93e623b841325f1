/**
 * SocketIoTransport: the production Transport, socket.io over websockets between processes.
 *
 *   const transport = new SocketIoTransport(clock, "ds1");
 *   const server = await transport.listen({ host: "127.0.0.1", port: 0, token }, handler);
 *   const peer = await other.connect(server.address, { token, localId: "cs1" });
 *   const reply = await peer.request("segment.read", { sysname });
 *
 * A request is `emit("req", envelope, ack)`; the reply is the ack's single argument. Acks
 * work both ways, so a connection opened by a client is a full Peer on both sides. Binary
 * parts of a body (Uint8Array, Buffer) travel as socket.io attachments, packed with their
 * message into one websocket frame (wire-parser.ts), and arrive as Uint8Array (a Buffer, in
 * Node); nothing is base64'd or JSON re-encoded by us.
 *
 * Handshake: the client sends `auth: { token, localId }`; the server's middleware refuses a
 * missing or wrong token (timing-safe) and the client's connect() rejects with AuthError.
 * An accepted socket is greeted with `hello { id }` naming the server, and connect()
 * resolves on that greeting, so both sides know whom they talk to.
 *
 * Rules:
 * - websocket transport only, no reconnection: a Peer that closes stays closed (PeerCache
 *   opens a new one when it is needed again).
 * - Only "req" is listened to; any other event from a peer is ignored. Malformed input
 *   never throws out of a listener (socket.io closes a connection whose packets it cannot
 *   decode; the server keeps serving the others).
 * - A server attached to a caller's http server (`options.httpServer`) never closes it.
 */
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import createDebug from "debug";
import { Server as IoServer, type Socket as ServerSocket } from "socket.io";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";
import { wireParser } from "./wire-parser.js";
import type { LamportClock } from "../../ra-kernel/lamport-clock.js";
import type { CloudsError } from "../../ra-kernel/clouds-error.js";
import { PeerRoster } from "./peer-roster.js";
import { BasePeer, type Ack } from "./base-peer.js";
import { AUTH_REFUSED, DEFAULT_CONNECT_TIMEOUT_MS, MAX_LOCAL_ID_LENGTH, describeThrown, handshakeProblem } from "./envelope.js";
import { AuthError, BadRequestError, ServerUnreachableError } from "./errors.js";
import {
  Transport,
  type ConnectOptions,
  type ListenOptions,
  type Peer,
  type RequestEnvelope,
  type RequestHandler,
  type TransportServer,
} from "./transport.js";

const log = createDebug("servers:transport");

/** Largest message (envelope and attachments) a server accepts: 64 MiB. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** What SocketIoPeer needs of a socket; both the server's and the client's Socket have it. */
interface EventSocket {
  on(event: string, listener: (...args: any[]) => void): unknown;
  emit(event: string, ...args: any[]): unknown;
  disconnect(close?: boolean): unknown;
}

/** One live socket.io connection, from either end. */
class SocketIoPeer extends BasePeer {
  constructor(private readonly socket: EventSocket, remoteId: string, address: string, clock: LamportClock, localId: string) {
    super(remoteId, address, clock, localId);
    socket.on("req", this.onRequest);
    socket.on("disconnect", this.onDisconnect);
  }

  protected send(envelope: RequestEnvelope, id: number): void {
    this.socket.emit("req", envelope, (reply: unknown) => this.settle(id, reply));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.markClosed("closed locally");
    this.socket.disconnect(true);
  }

  /** `emit("req", envelope, ack?)`: anything else (no args, extra args) is a malformed envelope. */
  private readonly onRequest = (...args: unknown[]): void => {
    const last = args[args.length - 1];
    const ack = typeof last === "function" ? (last as Ack) : undefined;
    const count = ack === undefined ? args.length : args.length - 1;
    this.receive(count === 1 ? args[0] : undefined, ack);
  };

  private readonly onDisconnect = (reason: unknown): void => {
    this.markClosed(typeof reason === "string" ? reason : "disconnected");
  };
}

/** The listening side: accepts authenticated sockets and makes each a Peer. */
class SocketIoServer implements TransportServer {
  private readonly roster = new PeerRoster<SocketIoPeer>();
  private closing: Promise<void> | undefined;
  private boundPort: number | undefined;

  constructor(
    private readonly io: IoServer,
    private readonly http: HttpServer,
    /** True when we created the http server (then close() closes it too). */
    private readonly ownsHttp: boolean,
    private readonly options: ListenOptions,
  ) {}

  get address(): string {
    return formatAddress(this.options.host, this.port);
  }

  /** The bound port, remembered once known (so `address` stays right after close). */
  get port(): number {
    if (this.boundPort === undefined) {
      const bound = this.http.address();
      if (typeof bound !== "object" || bound === null) return this.options.port;
      this.boundPort = (bound as AddressInfo).port;
    }
    return this.boundPort;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  onPeer(listener: (peer: Peer) => void): void {
    this.roster.onPeer(listener);
  }

  accept(peer: SocketIoPeer): void {
    this.roster.accept(peer);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    log("server %s closing (%d peers)", this.address, this.roster.size);
    await this.roster.closeAll();
    this.io.engine.close(); // every engine connection, including ones still handshaking
    if (this.ownsHttp) await closeHttp(this.http);
  }
}

export class SocketIoTransport extends Transport {
  constructor(clock: LamportClock, protected readonly localId: string) {
    super(clock);
  }

  async listen(options: ListenOptions, handler: RequestHandler): Promise<TransportServer> {
    const ownsHttp = options.httpServer === undefined;
    const http = options.httpServer ?? createServer(notFound);
    const io = new IoServer(http, {
      parser: wireParser,
      transports: ["websocket"],
      maxHttpBufferSize: MAX_MESSAGE_BYTES,
      serveClient: false,
      perMessageDeflate: false,
    });
    const server = new SocketIoServer(io, http, ownsHttp, options);
    io.use((socket, next) => next(this.refusal(server, options.token, socket)));
    io.on("connection", (socket) => this.welcome(server, socket, handler));
    if (ownsHttp) await listenOn(http, options, () => io.close());
    log("%s listening on %s", this.localId, server.address);
    return server;
  }

  /** The error refusing a connecting socket, or undefined to let it in. */
  private refusal(server: SocketIoServer, token: string, socket: ServerSocket): Error | undefined {
    const problem: CloudsError | undefined = server.isClosed
      ? new ServerUnreachableError("server is closing", { peer: this.localId, address: server.address })
      : handshakeProblem(token, socket.handshake.auth);
    if (problem === undefined) return undefined;
    log("refused %s: %s", socket.handshake.address, problem.message);
    const err = new Error(problem.message) as Error & { data?: unknown };
    err.data = { name: problem.name };
    return err;
  }

  private welcome(server: SocketIoServer, socket: ServerSocket, handler: RequestHandler): void {
    const remoteId = String(socket.handshake.auth.localId);
    const peer = new SocketIoPeer(socket, remoteId, remoteAddress(socket), this.clock, this.localId);
    peer.setHandler(handler);
    socket.emit("hello", { id: this.localId });
    log("%s accepted %s from %s", this.localId, remoteId, peer.address);
    server.accept(peer);
  }

  connect(address: string, options: ConnectOptions): Promise<Peer> {
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const socket = ioClient(toUrl(address), {
      parser: wireParser,
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
      timeout: timeoutMs,
      auth: { token: options.token, localId: options.localId },
    });
    return new Promise((resolve, reject) => this.handshake(socket, address, timeoutMs, options.handler, resolve, reject));
  }

  /** Waits for the server's hello; the Peer is made in the same tick, so no event is missed. */
  private handshake(
    socket: ClientSocket,
    address: string,
    timeoutMs: number,
    handler: RequestHandler | undefined,
    resolve: (peer: Peer) => void,
    reject: (err: Error) => void,
  ): void {
    const finish = (outcome: Peer | Error): void => {
      clearTimeout(timer);
      socket.off("hello", onHello).off("connect_error", onError).off("disconnect", onDisconnect);
      if (!(outcome instanceof Error)) return resolve(outcome);
      socket.disconnect();
      reject(outcome);
    };
    const onHello = (hello: unknown): void => finish(this.peerFromHello(socket, address, hello, handler));
    const onError = (err: Error): void => finish(connectError(address, err));
    const onDisconnect = (reason: string): void => finish(unreachable(address, `closed during handshake (${reason})`));
    const timer = setTimeout(() => finish(unreachable(address, `no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on("hello", onHello).on("connect_error", onError).on("disconnect", onDisconnect);
  }

  private peerFromHello(socket: ClientSocket, address: string, hello: unknown, handler: RequestHandler | undefined): Peer | Error {
    const id = (hello as { id?: unknown } | null)?.id;
    if (typeof id !== "string" || id.length === 0 || id.length > MAX_LOCAL_ID_LENGTH) {
      return new BadRequestError(`${address} sent a malformed hello`, { kind: "hello", field: "id" });
    }
    log("%s connected to %s at %s", this.localId, id, address);
    const peer = new SocketIoPeer(socket, id, address, this.clock, this.localId);
    // Before anything else is read: a request may follow the hello in the same batch.
    if (handler) peer.setHandler(handler);
    return peer;
  }
}

/** Maps a socket.io connect_error to AuthError, BadRequestError or ServerUnreachableError. */
function connectError(address: string, err: Error & { data?: { name?: unknown }; description?: unknown }): Error {
  const name = err.data?.name;
  if (name === "AuthError") return new AuthError(`connection to ${address} refused: ${AUTH_REFUSED}`);
  if (name === "BadRequestError") return new BadRequestError(err.message, { kind: "handshake", field: "localId" });
  if (name === "ServerUnreachableError") return unreachable(address, err.message);
  const cause = (err.description as { error?: unknown } | undefined)?.error ?? err.description;
  return unreachable(address, cause instanceof Error ? `${err.message}: ${describeThrown(cause)}` : err.message);
}

function unreachable(address: string, why: string): ServerUnreachableError {
  return new ServerUnreachableError(`cannot reach ${address}: ${why}`, { peer: address, address });
}

/** "host:port" becomes a URL; a URL is kept as given. */
function toUrl(address: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `http://${address}`;
}

function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** "ip:port" of an accepted socket's TCP connection (IPv4-mapped IPv6 shown as IPv4). */
function remoteAddress(socket: ServerSocket): string {
  const tcp = socket.request.socket;
  const ip = (tcp.remoteAddress ?? socket.handshake.address).replace(/^::ffff:/, "");
  return formatAddress(ip, tcp.remotePort ?? 0);
}

/** Plain HTTP requests to a transport-only server (not socket.io's path) get a 404. */
function notFound(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404).end();
}

/** Stops listening and drops every remaining connection (keep-alive ones included). */
function closeHttp(http: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    http.close(() => resolve());
    http.closeAllConnections();
  });
}

function listenOn(http: HttpServer, options: ListenOptions, undo: () => unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      void undo();
      reject(err);
    };
    http.once("error", onError);
    http.listen(options.port, options.host, () => {
      http.off("error", onError);
      resolve();
    });
  });
}
