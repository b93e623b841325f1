/**
 * PeerCache: one open connection per remote address, opened on first use, reopened lazily.
 *
 *   const peers = new PeerCache(transport, { token, localId: "cs1", handler });
 *   const ds = await peers.get("127.0.0.1:7101");
 *   await ds.request("segment.read", body);
 *
 * Peers never reconnect by themselves; this is where reconnecting happens. A peer that
 * closes is forgotten, and the next `get` for its address opens a new one.
 *
 * Rules:
 * - entries: at most one per address; an entry is the connect promise itself, so
 *   concurrent `get`s of one address share a single connect.
 * - A failed connect is forgotten at once (the caller sees the error; the next `get` retries).
 * - `close()` closes every peer, including ones still connecting, and later `get`s reject
 *   with ServerUnreachableError.
 * - `handler` (if given) is set on every peer it opens, so remote servers can call back
 *   over the connection (e.g. a data server invalidating a compute server's pages).
 */
import createDebug from "debug";
import { ServerUnreachableError } from "./errors.js";
import type { ConnectOptions, Peer, RequestHandler, Transport } from "./transport.js";

const log = createDebug("servers:transport");

export interface PeerCacheOptions extends ConnectOptions {
  /** Answers requests the remote side sends over connections this cache opened. */
  handler?: RequestHandler;
}

export class PeerCache {
  /** address -> the (possibly still opening) connection to it; see the header. */
  private readonly entries = new Map<string, Promise<Peer>>();
  /** Peers already open, by address: lets `peek` answer without a promise. */
  private readonly open = new Map<string, Peer>();
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly options: PeerCacheOptions,
  ) {}

  /** The open peer for an address, connecting (or reconnecting) if there is none. */
  get(address: string): Promise<Peer> {
    if (this.closed) return Promise.reject(cacheClosed(address));
    const entry = this.entries.get(address);
    if (entry !== undefined) return entry;
    const opening = this.connect(address);
    this.entries.set(address, opening);
    return opening;
  }

  /** The open peer for an address if there is one; never connects. */
  peek(address: string): Peer | undefined {
    return this.open.get(address);
  }

  /** Closes every peer; idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const entries = [...this.entries.values()];
    this.entries.clear();
    this.open.clear();
    const peers = await Promise.allSettled(entries);
    await Promise.all(peers.map((p) => (p.status === "fulfilled" ? p.value.close() : undefined)));
  }

  private async connect(address: string): Promise<Peer> {
    let peer: Peer;
    try {
      peer = await this.transport.connect(address, this.options);
    } catch (err) {
      this.forget(address);
      throw err;
    }
    return this.adopt(address, peer);
  }

  private async adopt(address: string, peer: Peer): Promise<Peer> {
    if (this.closed) {
      await peer.close();
      throw cacheClosed(address);
    }
    if (this.options.handler !== undefined) peer.setHandler(this.options.handler);
    this.open.set(address, peer);
    peer.onClose((reason) => {
      log("peer %s at %s closed (%s); will reconnect on next use", peer.remoteId, address, reason);
      if (this.open.get(address) === peer) this.forget(address);
    });
    return peer;
  }

  private forget(address: string): void {
    this.entries.delete(address);
    this.open.delete(address);
  }
}

function cacheClosed(address: string): ServerUnreachableError {
  return new ServerUnreachableError(`cannot reach ${address}: the peer cache is closed`, { peer: address, address });
}
