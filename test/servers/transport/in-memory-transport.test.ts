import { expect } from "chai";
import { LamportClock } from "../../../ra-kernel/lamport-clock.js";
import { BadRequestError } from "../../../servers/transport/errors.js";
import { InMemoryBus, InMemoryTransport } from "../../../servers/transport/in-memory-transport.js";
import { CloudsError } from "../../../ra-kernel/clouds-error.js";
import { expectRejection } from "../../support/expect-rejection.js";
import { describeTransportBehaviour } from "../../support/transport-behaviour.js";
import { TOKEN, TransportHarness, type TransportFixture } from "../../support/transport-harness.js";

let bus = new InMemoryBus();

const fixture: TransportFixture = {
  create: (localId, clock) => new InMemoryTransport(bus, clock, localId),
  listenOptions: (localId, token) => ({ host: localId, port: 0, token }),
  unreachableAddress: async () => "mem:nobody:1",
};

const echo = (kind: string, body: unknown): unknown => ({ kind, body });

describe("InMemoryTransport", () => {
  beforeEach(() => {
    bus = new InMemoryBus();
  });

  describeTransportBehaviour(fixture);

  describe("on its bus", () => {
    let h: TransportHarness;

    beforeEach(() => {
      h = new TransportHarness(fixture);
    });

    afterEach(async () => {
      await h.closeAll();
    });

    it("should register servers under mem:host:port, picking a port for port 0", async () => {
      const a = await h.serve("ds1", echo);
      const b = await h.serve("ds1", echo);
      expect(a.server.address).to.equal(`mem:ds1:${a.server.port}`);
      expect(b.server.port).to.not.equal(a.server.port);
    });

    it("should refuse to listen twice on one address", async () => {
      const transport = new InMemoryTransport(bus, new LamportClock(), "ds1");
      h.track(await transport.listen({ host: "ds1", port: 7, token: TOKEN }, echo));
      await expectRejection(transport.listen({ host: "ds1", port: 7, token: TOKEN }, echo), Error);
    });

    it("should keep networks on different buses apart", async () => {
      const ds = await h.serve("ds1", echo);
      const elsewhere = new InMemoryTransport(new InMemoryBus(), new LamportClock(), "cs1");
      await expectRejection(elsewhere.connect(ds.server.address, { token: TOKEN, localId: "cs1" }), CloudsError);
    });

    it("should deliver requests and replies on a later turn, never inside the caller", async () => {
      const order: string[] = [];
      const ds = await h.serve("ds1", () => {
        order.push("handler");
        return "reply";
      });
      const peer = await h.connect("cs1", ds.server.address);
      const reply = peer.request("x", {}).then((r) => order.push(`settled ${String(r)}`));
      order.push("after request");
      await reply;
      expect(order).to.deep.equal(["after request", "handler", "settled reply"]);
    });

    it("should keep Uint8Array, Map and Date through structuredClone", async () => {
      const ds = await h.serve("ds1", (_kind, body) => body);
      const peer = await h.connect("cs1", ds.server.address);
      const reply = await peer.request<{ m: Map<string, number>; d: Date }>("x", { m: new Map([["a", 1]]), d: new Date(0) });
      expect(reply.m.get("a")).to.equal(1);
      expect(reply.d.getTime()).to.equal(0);
    });

    it("should reject a request whose body cannot be cloned", async () => {
      const ds = await h.serve("ds1", echo);
      const peer = await h.connect("cs1", ds.server.address);
      const err = await expectRejection(peer.request("fn", { f: () => 1 }), BadRequestError);
      expect(err.field).to.equal("body");
    });

    it("should answer with an error when the handler's reply cannot be cloned", async () => {
      const ds = await h.serve("ds1", () => ({ f: () => 1 }));
      const peer = await h.connect("cs1", ds.server.address);
      const err = await expectRejection(peer.request("fn", {}), CloudsError);
      expect(err.message).to.match(/could not be sent/);
    });
  });
});
