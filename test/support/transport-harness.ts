/**
 * TransportHarness: starts transport servers and opens peers for a test, and closes every
 * one of them in `closeAll()` (call it from afterEach, so a failing test leaks nothing and
 * mocha can exit by itself).
 *
 * Each `serve` / `connect` plays one process: its own Transport, LamportClock and id, made
 * by the fixture (so the same test runs over socket.io and over the in-memory bus).
 */
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import type {
  ConnectOptions,
  ListenOptions,
  Peer,
  RequestHandler,
  Transport,
  TransportServer,
} from "../../servers/transport/transport.js";

export const TOKEN = "test-cluster-token";

export interface TransportFixture {
  /** A transport for one simulated process. */
  create(localId: string, clock: LamportClock): Transport;
  /** Options for one more listening server. */
  listenOptions(localId: string, token: string): ListenOptions;
  /** An address where nothing listens. */
  unreachableAddress(): Promise<string>;
}

export interface Served {
  transport: Transport;
  clock: LamportClock;
  server: TransportServer;
  /** Every peer the server accepted, in order. */
  accepted: Peer[];
}

export class TransportHarness {
  private readonly closables: Array<{ close(): Promise<void> }> = [];

  constructor(readonly fixture: TransportFixture) {}

  /** A process listening with `handler`; its accepted peers are recorded in `accepted`. */
  async serve(localId: string, handler: RequestHandler, clock = new LamportClock()): Promise<Served> {
    const transport = this.fixture.create(localId, clock);
    const server = this.track(await transport.listen(this.fixture.listenOptions(localId, TOKEN), handler));
    const accepted: Peer[] = [];
    server.onPeer((peer) => accepted.push(this.track(peer)));
    return { transport, clock, server, accepted };
  }

  /** A process connecting to `address`; the peer is closed in closeAll. */
  async connect(localId: string, address: string, options: Partial<ConnectOptions> = {}, clock = new LamportClock()): Promise<Peer> {
    const transport = this.fixture.create(localId, clock);
    return this.track(await transport.connect(address, { token: TOKEN, localId, ...options }));
  }

  track<T extends { close(): Promise<void> }>(closable: T): T {
    this.closables.push(closable);
    return closable;
  }

  async closeAll(): Promise<void> {
    const all = this.closables.splice(0).reverse();
    await Promise.allSettled(all.map((c) => c.close()));
  }
}

/** Resolves with the close reason the next time `peer` closes. */
export function closed(peer: Peer): Promise<string> {
  return new Promise((resolve) => peer.onClose(resolve));
}

/** Resolves with the first peer a server accepts from now on. */
export function nextPeer(server: TransportServer): Promise<Peer> {
  return new Promise((resolve) => server.onPeer(resolve));
}

/** A promise with its resolve and reject exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (err: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
