/**
 * The behaviour every Transport must show, as one mocha suite each implementation's test
 * file runs with its own fixture (SocketIoTransport over real sockets, InMemoryTransport
 * over a bus). Anything a protocol module can observe belongs here, so protocols tested
 * over the in-memory bus behave the same over socket.io.
 */
import { expect } from "chai";
import { CloudsError } from "../../ra-kernel/clouds-error.js";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import {
  AuthError,
  BadRequestError,
  RequestTimeoutError,
  ServerUnreachableError,
  UnknownMessageError,
} from "../../servers/transport/errors.js";
import type { Peer, RequestContext } from "../../servers/transport/transport.js";
import { expectRejection } from "./expect-rejection.js";
import { closed, deferred, nextPeer, TOKEN, TransportHarness, type TransportFixture } from "./transport-harness.js";

const echo = (kind: string, body: unknown): unknown => ({ kind, body });

function page(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

function expectBytes(actual: unknown, expected: Uint8Array): void {
  expect(actual).to.be.instanceOf(Uint8Array);
  expect(Buffer.from(actual as Uint8Array).equals(Buffer.from(expected))).to.equal(true);
}

export function describeTransportBehaviour(fixture: TransportFixture): void {
  let h: TransportHarness;

  beforeEach(() => {
    h = new TransportHarness(fixture);
  });

  afterEach(async () => {
    await h.closeAll();
  });

  describe("request and reply", () => {
    it("should answer a request with the handler's return value", async () => {
      let seen: RequestContext | undefined;
      const ds = await h.serve("ds1", (kind, body, ctx) => {
        seen = ctx;
        return echo(kind, body);
      });
      const peer = await h.connect("cs1", ds.server.address);
      expect(await peer.request("name.lookup", { path: "/a" })).to.deep.equal({ kind: "name.lookup", body: { path: "/a" } });
      expect(peer.remoteId).to.equal("ds1");
      expect(peer.address).to.equal(ds.server.address);
      expect(seen!.peer.remoteId).to.equal("cs1");
      expect(seen!.clock).to.be.a("number");
    });

    it("should await a handler that returns a promise", async () => {
      const ds = await h.serve("ds1", async (_kind, body) => {
        await new Promise((resolve) => setImmediate(resolve));
        return { doubled: (body as { n: number }).n * 2 };
      });
      const peer = await h.connect("cs1", ds.server.address);
      expect(await peer.request("math.double", { n: 21 })).to.deep.equal({ doubled: 42 });
    });

    it("should match each of many concurrent replies to its request", async () => {
      const ds = await h.serve("ds1", async (_kind, body) => {
        const n = (body as { n: number }).n;
        if (n % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
        return n;
      });
      const peer = await h.connect("cs1", ds.server.address);
      const replies = await Promise.all(Array.from({ length: 200 }, (_, n) => peer.request("n", { n })));
      expect(replies).to.deep.equal(Array.from({ length: 200 }, (_, n) => n));
    });

    it("should hand the handler a copy of the body, never the sender's object", async () => {
      const ds = await h.serve("ds1", (_kind, body) => {
        (body as { list: number[] }).list.push(99);
        return body;
      });
      const peer = await h.connect("cs1", ds.server.address);
      const sent = { list: [1, 2] };
      expect(await peer.request("mutate", sent)).to.deep.equal({ list: [1, 2, 99] });
      expect(sent).to.deep.equal({ list: [1, 2] });
    });

    it("should carry null and missing bodies", async () => {
      const ds = await h.serve("ds1", (_kind, body) => (body === undefined ? null : body));
      const peer = await h.connect("cs1", ds.server.address);
      expect(await peer.request("a", null)).to.equal(null);
      expect(await peer.request("b", undefined)).to.equal(null);
    });
  });

  describe("bytes", () => {
    it("should round-trip a 4 KiB page byte-exact as a Uint8Array", async () => {
      const bytes = page(4096);
      const ds = await h.serve("ds1", (_kind, body) => {
        expectBytes((body as { bytes: unknown }).bytes, bytes);
        return { bytes: (body as { bytes: Uint8Array }).bytes };
      });
      const peer = await h.connect("cs1", ds.server.address);
      const reply = await peer.request<{ bytes: Uint8Array }>("page.write", { bytes });
      expectBytes(reply.bytes, bytes);
    });

    it("should round-trip bytes nested in arrays and objects, including Buffers and views", async () => {
      const whole = page(300);
      const view = whole.subarray(100, 200);
      const body = { pages: [{ no: 1, bytes: page(16) }, { no: 2, bytes: Buffer.from("héllo") }], meta: { view, empty: new Uint8Array(0) } };
      const ds = await h.serve("ds1", (_kind, b) => b);
      const peer = await h.connect("cs1", ds.server.address);
      const reply = await peer.request<typeof body>("pages", body);
      expect(reply.pages.map((p) => p.no)).to.deep.equal([1, 2]);
      expectBytes(reply.pages[0]!.bytes, page(16));
      expectBytes(reply.pages[1]!.bytes, Buffer.from("héllo"));
      expectBytes(reply.meta.view, view);
      expectBytes(reply.meta.empty, new Uint8Array(0));
    });
  });

  describe("errors", () => {
    it("should rebuild an error thrown by the handler as the same named class, with its fields", async () => {
      const ds = await h.serve("ds1", (kind) => {
        throw new BadRequestError(`${kind}: field 'path' must be a string`, { kind, field: "path" });
      });
      const peer = await h.connect("cs1", ds.server.address);
      const err = await expectRejection(peer.request("name.lookup", {}), BadRequestError);
      expect(err.message).to.equal("name.lookup: field 'path' must be a string");
      expect(err.kind).to.equal("name.lookup");
      expect(err.field).to.equal("path");
      expect(err.server).to.equal("ds1");
      expect(err.remoteStack).to.be.a("string");
    });

    it("should rebuild an error from a rejected promise", async () => {
      const ds = await h.serve("ds1", async () => {
        throw new UnknownMessageError("nope", { kind: "x" });
      });
      const peer = await h.connect("cs1", ds.server.address);
      const err = await expectRejection(peer.request("x", {}), UnknownMessageError);
      expect(err.kind).to.equal("x");
    });

    it("should keep the name and message of plain errors and thrown non-errors", async () => {
      const ds = await h.serve("ds1", (kind) => {
        if (kind === "type") throw new TypeError("not a function");
        throw "a string"; // eslint-disable-line no-throw-literal
      });
      const peer = await h.connect("cs1", ds.server.address);
      const typeErr = await expectRejection(peer.request("type", {}), CloudsError);
      expect(typeErr.name).to.equal("TypeError");
      expect(typeErr.message).to.equal("not a function");
      const stringErr = await expectRejection(peer.request("string", {}), CloudsError);
      expect(stringErr.message).to.equal("a string");
    });

    it("should answer even when the handler throws a value that cannot be read", async () => {
      const ds = await h.serve("ds1", () => {
        throw Object.create(null);
      });
      const peer = await h.connect("cs1", ds.server.address);
      const err = await expectRejection(peer.request("odd", {}), CloudsError);
      expect(err.message).to.match(/^the code threw a value that cannot be read \(reading it threw "Cannot convert object to primitive value"\)$/);
    });

    it("should keep serving after a handler throws", async () => {
      const ds = await h.serve("ds1", (kind) => {
        if (kind === "bad") throw new Error("boom");
        return "fine";
      });
      const peer = await h.connect("cs1", ds.server.address);
      await expectRejection(peer.request("bad", {}), CloudsError);
      expect(await peer.request("good", {})).to.equal("fine");
    });
  });

  describe("both directions", () => {
    it("should let the server send requests into a connection the client opened", async () => {
      const ds = await h.serve("ds1", echo);
      const accepted = nextPeer(ds.server);
      const peer = await h.connect("cs1", ds.server.address);
      peer.setHandler((kind, body, ctx) => ({ from: ctx.peer.remoteId, kind, body }));
      const back = await accepted;
      expect(back.remoteId).to.equal("cs1");
      expect(await back.request("page.invalidate", { no: 3 })).to.deep.equal({ from: "ds1", kind: "page.invalidate", body: { no: 3 } });
    });

    it("should answer, with the handler given to connect, a request the server sends the moment it accepts", async () => {
      const ds = await h.serve("ds1", echo);
      // Sent right behind the hello, before connect() has resolved on the client.
      const asked = new Promise<unknown>((resolve, reject) => ds.server.onPeer((p) => p.request("page.revert", { no: 1 }).then(resolve, reject)));
      await h.connect("cs1", ds.server.address, { handler: (kind, body) => ({ kind, body }) });
      expect(await asked).to.deep.equal({ kind: "page.revert", body: { no: 1 } });
    });

    it("should reply UnknownMessageError when the receiving side has no handler", async () => {
      const ds = await h.serve("ds1", echo);
      const accepted = nextPeer(ds.server);
      await h.connect("cs1", ds.server.address);
      const err = await expectRejection((await accepted).request("page.invalidate", {}), UnknownMessageError);
      expect(err.kind).to.equal("page.invalidate");
      expect(err.server).to.equal("cs1");
    });
  });

  describe("Lamport clock", () => {
    it("should move the receiver past the request's stamp and the caller past the reply's", async () => {
      const bClock = new LamportClock();
      for (let i = 0; i < 100; i++) bClock.tick();
      let stamp = -1;
      let bDuring = -1;
      const ds = await h.serve("ds1", (_kind, _body, ctx) => {
        stamp = ctx.clock;
        bDuring = bClock.now();
        return null;
      }, bClock);
      const aClock = new LamportClock();
      const peer = await h.connect("cs1", ds.server.address, {}, aClock);
      await peer.request("tick", {});
      expect(bDuring).to.be.greaterThan(stamp);
      expect(aClock.now()).to.be.greaterThan(bClock.now());
    });

    it("should move a receiver that is behind past a caller that is ahead", async () => {
      const bClock = new LamportClock();
      const ds = await h.serve("ds1", () => bClock.now(), bClock);
      const aClock = new LamportClock();
      for (let i = 0; i < 500; i++) aClock.tick();
      const peer = await h.connect("cs1", ds.server.address, {}, aClock);
      const bSaw = await peer.request<number>("tick", {});
      expect(bSaw).to.be.greaterThan(500);
      expect(aClock.now()).to.be.greaterThan(bSaw);
    });
  });

  describe("timeouts", () => {
    it("should reject with RequestTimeoutError naming kind, peer and timeout", async () => {
      const never = deferred<unknown>();
      const ds = await h.serve("ds1", () => never.promise);
      const peer = await h.connect("cs1", ds.server.address);
      const err = await expectRejection(peer.request("slow", {}, { timeoutMs: 30 }), RequestTimeoutError);
      expect(err.kind).to.equal("slow");
      expect(err.peer).to.equal("ds1");
      expect(err.timeoutMs).to.equal(30);
    });

    it("should drop a reply that comes after the timeout and keep working", async () => {
      const late = deferred<unknown>();
      const ds = await h.serve("ds1", (kind) => (kind === "late" ? late.promise : "ok"));
      const peer = await h.connect("cs1", ds.server.address);
      await expectRejection(peer.request("late", {}, { timeoutMs: 20 }), RequestTimeoutError);
      late.resolve("too late");
      expect(await peer.request("now", {})).to.equal("ok");
    });
  });

  describe("closing", () => {
    it("should reject pending requests with ServerUnreachableError when the remote side closes", async () => {
      const never = deferred<unknown>();
      const ds = await h.serve("ds1", () => never.promise);
      const accepted = nextPeer(ds.server);
      const peer = await h.connect("cs1", ds.server.address);
      const pending = peer.request("slow", {});
      const reasons: string[] = [];
      peer.onClose((reason) => reasons.push(reason));
      await (await accepted).close();
      const err = await expectRejection(pending, ServerUnreachableError);
      expect(err.peer).to.equal("ds1");
      expect(err.address).to.equal(ds.server.address);
      expect(err.message).to.contain("ds1").and.contain(ds.server.address);
      expect(peer.closed).to.equal(true);
      expect(reasons).to.have.length(1);
      expect(reasons[0]).to.be.a("string").that.is.not.empty;
    });

    it("should reject pending requests and run close listeners once when closed locally", async () => {
      const never = deferred<unknown>();
      const ds = await h.serve("ds1", () => never.promise);
      const peer = await h.connect("cs1", ds.server.address);
      let calls = 0;
      peer.onClose(() => calls++);
      const pending = peer.request("slow", {});
      await peer.close();
      await peer.close();
      await expectRejection(pending, ServerUnreachableError);
      expect(calls).to.equal(1);
    });

    it("should reject requests made after the close at once", async () => {
      const ds = await h.serve("ds1", echo);
      const peer = await h.connect("cs1", ds.server.address);
      await peer.close();
      await expectRejection(peer.request("x", {}), ServerUnreachableError);
    });

    it("should tell a close listener added after the close", async () => {
      const ds = await h.serve("ds1", echo);
      const peer = await h.connect("cs1", ds.server.address);
      await peer.close();
      expect(await closed(peer)).to.be.a("string");
    });

    it("should close the server's end when the client closes", async () => {
      const ds = await h.serve("ds1", echo);
      const accepted = nextPeer(ds.server);
      const peer = await h.connect("cs1", ds.server.address);
      const back = await accepted;
      const reason = closed(back);
      await peer.close();
      expect(await reason).to.be.a("string");
      expect(back.closed).to.equal(true);
    });

    it("should close every accepted peer when the server closes, and close idempotently", async () => {
      const ds = await h.serve("ds1", echo);
      const one = await h.connect("cs1", ds.server.address);
      const two = await h.connect("cs2", ds.server.address);
      const reasons = Promise.all([closed(one), closed(two)]);
      await ds.server.close();
      await ds.server.close();
      expect(await reasons).to.have.length(2);
    });

    it("should refuse new connections once the server is closed", async () => {
      const ds = await h.serve("ds1", echo);
      const address = ds.server.address;
      await ds.server.close();
      await expectRejection(h.connect("cs1", address, { connectTimeoutMs: 2000 }), ServerUnreachableError);
    });
  });

  describe("connecting", () => {
    it("should refuse a wrong cluster token with AuthError", async () => {
      const ds = await h.serve("ds1", echo);
      const err = await expectRejection(h.connect("cs1", ds.server.address, { token: "wrong" }), AuthError);
      expect(err.message).to.match(/cluster token was missing or wrong/);
    });

    it("should refuse a missing cluster token with AuthError", async () => {
      const ds = await h.serve("ds1", echo);
      await expectRejection(h.connect("cs1", ds.server.address, { token: "" }), AuthError);
      await expectRejection(h.connect("cs1", ds.server.address, { token: undefined as unknown as string }), AuthError);
    });

    it("should reject with ServerUnreachableError naming an address nobody listens on", async () => {
      const address = await fixture.unreachableAddress();
      const err = await expectRejection(h.connect("cs1", address, { connectTimeoutMs: 2000 }), ServerUnreachableError);
      expect(err.address).to.equal(address);
      expect(err.message).to.contain(address);
    });

    it("should accept the right token after refusing a wrong one", async () => {
      const ds = await h.serve("ds1", echo);
      await expectRejection(h.connect("cs1", ds.server.address, { token: "wrong" }), AuthError);
      const peer = await h.connect("cs1", ds.server.address, { token: TOKEN });
      expect(await peer.request("x", 1)).to.deep.equal({ kind: "x", body: 1 });
    });

    it("should report each accepted peer to onPeer with the id the client declared", async () => {
      const ds = await h.serve("ds1", echo);
      await h.connect("cs1", ds.server.address);
      await h.connect("shell:4121", ds.server.address);
      expect(ds.accepted.map((p: Peer) => p.remoteId)).to.deep.equal(["cs1", "shell:4121"]);
    });
  });
}
