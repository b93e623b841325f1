/**
 * FakePeer: a Peer without a transport, for protocol and server unit tests.
 *
 * A lone FakePeer records every request sent to it (`sent`) and answers each with `reply`
 * (null unless set). `fakePeerPair()` joins two FakePeers back to back like the two ends of
 * one connection: a request on one end runs the other end's handler with `ctx.peer` = that
 * other end, bodies and replies are structured-cloned, and thrown errors travel as
 * WireErrors and are rebuilt, as the real transports do. Closing either end closes both and
 * rejects later requests with ServerUnreachableError.
 */
import { fromWireError, toWireError } from "../../ra-kernel/clouds-error.js";
import { ServerUnreachableError } from "../../servers/transport/errors.js";
import type { Peer, RequestContext, RequestHandler, RequestOptions } from "../../servers/transport/transport.js";

export interface SentRequest {
  kind: string;
  body: unknown;
}

export class FakePeer implements Peer {
  /** Every request sent through this end, in order. */
  readonly sent: SentRequest[] = [];
  /** What a lone peer answers (a pair answers through the other end's handler). */
  reply: unknown = null;
  closed = false;
  private handler: RequestHandler | null = null;
  private readonly closeListeners: Array<(reason: string) => void> = [];
  private clock = 0;
  /** The other end, when made by fakePeerPair. */
  other: FakePeer | null = null;

  constructor(
    readonly remoteId = "fake",
    readonly address = "memory:fake",
  ) {}

  async request<T = unknown>(kind: string, body: unknown, _options?: RequestOptions): Promise<T> {
    if (this.closed) throw new ServerUnreachableError(`peer ${this.remoteId} is closed`, { peer: this.remoteId, address: this.address });
    this.sent.push({ kind, body: structuredClone(body) });
    if (!this.other) return this.reply as T;
    return (await this.other.receive(kind, structuredClone(body), ++this.clock)) as T;
  }

  setHandler(handler: RequestHandler): void {
    this.handler = handler;
  }

  onClose(listener: (reason: string) => void): void {
    this.closeListeners.push(listener);
  }

  async close(reason = "closed"): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.closeListeners) listener(reason);
    await this.other?.close(reason);
  }

  /** Runs this end's handler as the transport would, errors crossing as WireErrors. */
  private async receive(kind: string, body: unknown, clock: number): Promise<unknown> {
    if (!this.handler) throw new Error(`no handler on ${this.remoteId}`);
    const ctx: RequestContext = { peer: this, clock };
    try {
      return structuredClone(await this.handler(kind, body, ctx));
    } catch (err) {
      throw fromWireError(structuredClone(toWireError(err, this.remoteId)));
    }
  }
}

/** Two joined ends: `client` (e.g. a shell) and `server` (the name server's view of it). */
export function fakePeerPair(clientId = "shell:1", serverId = "ns1"): { client: FakePeer; server: FakePeer } {
  const client = new FakePeer(serverId, `memory:${serverId}`);
  const server = new FakePeer(clientId, `memory:${clientId}`);
  client.other = server;
  server.other = client;
  return { client, server };
}
