import { expect } from "chai";
import { LamportClock } from "../../../ra-kernel/lamport-clock.js";
import { ServerUnreachableError } from "../../../servers/transport/errors.js";
import { InMemoryBus, InMemoryTransport } from "../../../servers/transport/in-memory-transport.js";
import { PeerCache } from "../../../servers/transport/peer-cache.js";
import { SocketIoTransport } from "../../../servers/transport/socket-io-transport.js";
import type { ConnectOptions, Peer, Transport } from "../../../servers/transport/transport.js";
import { expectRejection } from "../../support/expect-rejection.js";
import { closed, deferred, nextPeer, TOKEN, TransportHarness, type TransportFixture } from "../../support/transport-harness.js";

const echo = (kind: string, body: unknown): unknown => ({ kind, body });

/** Counts connects, and can hold them until released. */
class CountingTransport extends InMemoryTransport {
  connects = 0;
  gate: Promise<void> | undefined;

  override async connect(address: string, options: ConnectOptions): Promise<Peer> {
    this.connects++;
    if (this.gate) await this.gate;
    return super.connect(address, options);
  }
}

describe("PeerCache", () => {
  let bus: InMemoryBus;
  let h: TransportHarness;
  let transport: CountingTransport;
  let cache: PeerCache;

  beforeEach(() => {
    bus = new InMemoryBus();
    const fixture: TransportFixture = {
      create: (localId, clock) => new InMemoryTransport(bus, clock, localId),
      listenOptions: (localId, token) => ({ host: localId, port: 0, token }),
      unreachableAddress: async () => "mem:nobody:1",
    };
    h = new TransportHarness(fixture);
    transport = new CountingTransport(bus, new LamportClock(), "cs1");
    cache = h.track(new PeerCache(transport, { token: TOKEN, localId: "cs1" }));
  });

  afterEach(async () => {
    await h.closeAll();
  });

  it("should return the same open peer for an address", async () => {
    const ds = await h.serve("ds1", echo);
    expect(cache.peek(ds.server.address)).to.equal(undefined);
    const first = await cache.get(ds.server.address);
    expect(await cache.get(ds.server.address)).to.equal(first);
    expect(cache.peek(ds.server.address)).to.equal(first);
    expect(await first.request("x", 1)).to.deep.equal({ kind: "x", body: 1 });
    expect(transport.connects).to.equal(1);
  });

  it("should connect once for concurrent gets of one address", async () => {
    const ds = await h.serve("ds1", echo);
    const gate = deferred();
    transport.gate = gate.promise;
    const gets = [cache.get(ds.server.address), cache.get(ds.server.address), cache.get(ds.server.address)];
    gate.resolve();
    const peers = await Promise.all(gets);
    expect(new Set(peers).size).to.equal(1);
    expect(transport.connects).to.equal(1);
  });

  it("should keep one peer per address", async () => {
    const one = await h.serve("ds1", echo);
    const two = await h.serve("ds2", echo);
    const [a, b] = await Promise.all([cache.get(one.server.address), cache.get(two.server.address)]);
    expect(a.remoteId).to.equal("ds1");
    expect(b.remoteId).to.equal("ds2");
  });

  it("should reconnect on the next get after the cached peer closed", async () => {
    const ds = await h.serve("ds1", echo);
    const accepted = nextPeer(ds.server);
    const first = await cache.get(ds.server.address);
    const gone = closed(first);
    await (await accepted).close();
    await gone;
    expect(cache.peek(ds.server.address)).to.equal(undefined);
    const second = await cache.get(ds.server.address);
    expect(second).to.not.equal(first);
    expect(second.closed).to.equal(false);
    expect(await second.request("x", 2)).to.deep.equal({ kind: "x", body: 2 });
    expect(transport.connects).to.equal(2);
  });

  it("should not remember a failed connect", async () => {
    await expectRejection(cache.get("mem:ds1:7"), ServerUnreachableError);
    const ds = new InMemoryTransport(bus, new LamportClock(), "ds1");
    h.track(await ds.listen({ host: "ds1", port: 7, token: TOKEN }, echo));
    const peer = await cache.get("mem:ds1:7");
    expect(peer.remoteId).to.equal("ds1");
  });

  it("should set its handler on the peers it opens", async () => {
    cache = h.track(new PeerCache(transport, { token: TOKEN, localId: "cs1", handler: (kind) => `cs1 got ${kind}` }));
    const ds = await h.serve("ds1", echo);
    const accepted = nextPeer(ds.server);
    await cache.get(ds.server.address);
    expect(await (await accepted).request("page.invalidate", {})).to.equal("cs1 got page.invalidate");
  });

  it("should close every peer on close and refuse later gets", async () => {
    const ds = await h.serve("ds1", echo);
    const peer = await cache.get(ds.server.address);
    await cache.close();
    await cache.close();
    expect(peer.closed).to.equal(true);
    const err = await expectRejection(cache.get(ds.server.address), ServerUnreachableError);
    expect(err.address).to.equal(ds.server.address);
  });

  it("should close a peer that finishes connecting after close", async () => {
    const ds = await h.serve("ds1", echo);
    const accepted = nextPeer(ds.server);
    const gate = deferred();
    transport.gate = gate.promise;
    const pending = cache.get(ds.server.address);
    const closing = cache.close();
    gate.resolve();
    await expectRejection(pending, ServerUnreachableError);
    await closing;
    const back = await accepted;
    await closed(back);
    expect(back.closed).to.equal(true);
  });

  it("should reconnect over real sockets after the server dropped the connection", async () => {
    const sockets: TransportFixture = {
      create: (localId, clock) => new SocketIoTransport(clock, localId),
      listenOptions: (_localId, token) => ({ host: "127.0.0.1", port: 0, token }),
      unreachableAddress: async () => "127.0.0.1:1",
    };
    const real = new TransportHarness(sockets);
    h.track({ close: () => real.closeAll() });
    const ds = await real.serve("ds1", echo);
    const accepted = nextPeer(ds.server);
    const socketCache = h.track(new PeerCache(new SocketIoTransport(new LamportClock(), "cs1") as Transport, { token: TOKEN, localId: "cs1" }));
    const first = await socketCache.get(ds.server.address);
    const gone = closed(first);
    await (await accepted).close();
    await gone;
    const second = await socketCache.get(ds.server.address);
    expect(second).to.not.equal(first);
    expect(await second.request("x", 3)).to.deep.equal({ kind: "x", body: 3 });
  });
});
