/**
 * InMemoryTransport: the Transport for unit tests of protocols, without sockets.
 *
 *   const bus = new InMemoryBus();
 *   const ds = new InMemoryTransport(bus, new LamportClock(), "ds1");
 *   const server = await ds.listen({ host: "ds1", port: 0, token }, handler);   // "mem:ds1:1"
 *   const cs = new InMemoryTransport(bus, new LamportClock(), "cs1");
 *   const peer = await cs.connect(server.address, { token, localId: "cs1" });
 *
 * An InMemoryBus is one simulated network: servers register under "mem:<host>:<port>"
 * (port 0 takes the bus's next unused number) and connect() finds them there. Each
 * transport keeps its own clock and id, like a process.
 *
 * It obeys the SocketIoTransport contract (the same behaviour suite runs on both):
 * - envelopes (bodies included) are structuredClone'd on every hop, so nothing is shared by
 *   reference; Uint8Array survives; a body that cannot be cloned fails the request.
 * - every delivery (request, reply, the remote end of a close) happens on a later turn of
 *   the event loop (setImmediate), never re-entrantly inside the caller.
 * - the cluster token is checked on connect (AuthError); an address nobody listens on gives
 *   ServerUnreachableError; timeouts and close semantics come from BasePeer, as for sockets.
 * Differences: values JSON cannot carry (Date, Map, undefined in arrays) survive here and
 * not over socket.io; `options.httpServer` is ignored.
 */
import createDebug from "debug";
import type { LamportClock } from "../../ra-kernel/lamport-clock.js";
import { PeerRoster } from "./peer-roster.js";
import { BasePeer, type Ack } from "./base-peer.js";
import { AUTH_REFUSED, handshakeProblem } from "./envelope.js";
import { AuthError, ServerUnreachableError } from "./errors.js";
import {
  Transport,
  type ConnectOptions,
  type ListenOptions,
  type Peer,
  type ReplyEnvelope,
  type RequestEnvelope,
  type RequestHandler,
  type TransportServer,
} from "./transport.js";

const log = createDebug("servers:transport");

/** One end of an in-memory connection; `remote` is the other end. */
export class InMemoryPeer extends BasePeer {
  private remote: InMemoryPeer | undefined;

  /** Joins two fresh peers into one connection. */
  static link(a: InMemoryPeer, b: InMemoryPeer): void {
    a.remote = b;
    b.remote = a;
  }

  protected send(envelope: RequestEnvelope, id: number): void {
    const copy = structuredClone(envelope);
    const remote = this.remote!;
    setImmediate(() => remote.deliver(copy, (reply) => this.replyArrived(id, reply)));
  }

  private deliver(envelope: RequestEnvelope, ack: Ack): void {
    if (!this.closed) this.receive(envelope, ack);
  }

  /** The remote side's ack: clone now (so a bad reply throws there), settle on a later turn. */
  private replyArrived(id: number, reply: ReplyEnvelope): void {
    const copy = structuredClone(reply);
    setImmediate(() => this.settle(id, copy));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.markClosed("closed locally");
    const remote = this.remote;
    if (remote !== undefined) setImmediate(() => remote.markClosed("closed by remote"));
  }
}

/** A listening in-memory server: accepts connections the bus routes to it. */
export class InMemoryServer implements TransportServer {
  private readonly roster = new PeerRoster<InMemoryPeer>();
  private closing: Promise<void> | undefined;

  constructor(
    readonly address: string,
    readonly port: number,
    readonly token: string,
    private readonly bus: InMemoryBus,
    private readonly transport: { clock: LamportClock; localId: string; handler: RequestHandler },
  ) {}

  get localId(): string {
    return this.transport.localId;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  onPeer(listener: (peer: Peer) => void): void {
    this.roster.onPeer(listener);
  }

  /** Makes the server's end of a connection from `clientId` and links it to the client's. */
  accept(client: InMemoryPeer, clientId: string): void {
    const { clock, localId, handler } = this.transport;
    const peer = new InMemoryPeer(clientId, `mem:${clientId}`, clock, localId);
    peer.setHandler(handler);
    InMemoryPeer.link(client, peer);
    this.roster.accept(peer);
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.bus.unlisten(this.address, this);
    await this.roster.closeAll();
  }
}

/** One simulated network: the registry of listening in-memory servers by address. */
export class InMemoryBus {
  private readonly servers = new Map<string, InMemoryServer>();
  private lastPort = 0;

  /** The address a listen on host/port binds ("mem:host:port"); port 0 takes a fresh number. */
  bind(host: string, port: number): { address: string; port: number } {
    const chosen = port === 0 ? this.freePort(host) : port;
    const address = `mem:${host}:${chosen}`;
    if (this.servers.has(address)) throw new Error(`${address} is already in use`);
    return { address, port: chosen };
  }

  listen(server: InMemoryServer): void {
    this.servers.set(server.address, server);
  }

  unlisten(address: string, server: InMemoryServer): void {
    if (this.servers.get(address) === server) this.servers.delete(address);
  }

  lookup(address: string): InMemoryServer | undefined {
    return this.servers.get(address);
  }

  private freePort(host: string): number {
    do this.lastPort += 1;
    while (this.servers.has(`mem:${host}:${this.lastPort}`));
    return this.lastPort;
  }
}

export class InMemoryTransport extends Transport {
  constructor(private readonly bus: InMemoryBus, clock: LamportClock, protected readonly localId: string) {
    super(clock);
  }

  async listen(options: ListenOptions, handler: RequestHandler): Promise<TransportServer> {
    const { address, port } = this.bus.bind(options.host, options.port);
    const server = new InMemoryServer(address, port, options.token, this.bus, {
      clock: this.clock,
      localId: this.localId,
      handler,
    });
    this.bus.listen(server);
    log("%s listening on %s", this.localId, address);
    return server;
  }

  async connect(address: string, options: ConnectOptions): Promise<Peer> {
    await nextTurn();
    const server = this.bus.lookup(address);
    if (server === undefined || server.isClosed) {
      throw new ServerUnreachableError(`cannot reach ${address}: nothing listens there`, { peer: address, address });
    }
    const problem = handshakeProblem(server.token, { token: options.token, localId: options.localId });
    if (problem instanceof AuthError) throw new AuthError(`connection to ${address} refused: ${AUTH_REFUSED}`);
    if (problem !== undefined) throw problem;
    const client = new InMemoryPeer(server.localId, address, this.clock, this.localId);
    if (options.handler) client.setHandler(options.handler);
    server.accept(client, options.localId);
    log("%s connected to %s at %s", this.localId, server.localId, address);
    return client;
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
