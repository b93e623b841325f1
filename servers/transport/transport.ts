/**
 * Transport: symmetric request/reply channels between processes.
 *
 * A Peer is one live connection. Either side may send requests (`request`) and answer them
 * (`setHandler`): compute servers call data servers, and data servers call back into the
 * compute servers that hold their pages (invalidations). Every message is an Envelope
 * stamped with the sender's Lamport clock; the receiver observes it before the handler runs.
 *
 * Implementations: SocketIoTransport (real processes, binary-safe: page bytes travel as
 * Uint8Array, never base64) and InMemoryTransport (unit tests; bodies are structured-cloned
 * so nothing is shared by reference). Both check the cluster token when a connection opens.
 *
 * Rules:
 * - A handler returns the reply body or throws; a thrown error goes back as a WireError and
 *   is rebuilt as the same named CloudsError on the caller's side. A handler never crashes
 *   the process, whatever the body holds.
 * - A Peer that closes rejects its pending requests with ServerUnreachableError; it does not
 *   reconnect by itself (PeerCache does that on the next request).
 * - Request bodies are validated by the receiving protocol module, not here; the transport
 *   only checks the envelope (kind is a short string, the id and clock are numbers).
 */
import type { LamportClock } from "../../ra-kernel/lamport-clock.js";

/** What travels for one request. */
export interface RequestEnvelope {
  /** Message kind, e.g. "name.lookup" (at most 64 characters). */
  kind: string;
  /** Sender's Lamport clock when sent. */
  clock: number;
  body: unknown;
}

/** What travels back. Exactly one of `body` / `error` is meaningful. */
export interface ReplyEnvelope {
  ok: boolean;
  clock: number;
  body?: unknown;
  error?: import("../../ra-kernel/clouds-error.js").WireError;
}

export interface RequestContext {
  /** The peer the request came from. */
  peer: Peer;
  /** The Lamport stamp the request carried. */
  clock: number;
}

/** Answers one request: the reply body, or throw (a CloudsError ideally). */
export type RequestHandler = (kind: string, body: unknown, ctx: RequestContext) => unknown | Promise<unknown>;

export interface RequestOptions {
  /** Reject with RequestTimeoutError after this long. @default 30000 */
  timeoutMs?: number;
}

export interface Peer {
  /** The id the remote side declared when the connection opened (e.g. "cs1", "shell:4121"). */
  readonly remoteId: string;
  /** The address this peer was reached at, or the remote address for accepted peers. */
  readonly address: string;
  readonly closed: boolean;
  request<T = unknown>(kind: string, body: unknown, options?: RequestOptions): Promise<T>;
  setHandler(handler: RequestHandler): void;
  /** Called once when the connection closes, for any reason. */
  onClose(listener: (reason: string) => void): void;
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Required on every connection. */
  token: string;
  /** Attach to this HTTP server (shared with express) instead of creating one. */
  httpServer?: import("node:http").Server;
}

export interface TransportServer {
  /** "host:port" actually bound. */
  readonly address: string;
  readonly port: number;
  /** Every accepted, authenticated connection. */
  onPeer(listener: (peer: Peer) => void): void;
  /** Closes every peer and stops listening. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  token: string;
  /** How to name ourselves to the remote side. */
  localId: string;
  /** Give up opening the connection after this long. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Answers the remote side's requests on this connection, from its first message on: the
   * server may send one in the same packet batch as its hello, before connect() resolves.
   */
  handler?: RequestHandler;
}

export abstract class Transport {
  constructor(protected readonly clock: LamportClock) {}
  abstract listen(options: ListenOptions, handler: RequestHandler): Promise<TransportServer>;
  /** Opens a connection to "host:port" (or an in-memory address). */
  abstract connect(address: string, options: ConnectOptions): Promise<Peer>;
}
