import { expect } from "chai";
import { createServer as createHttpServer, get as httpGet, type Server as HttpServer } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket as TcpSocket } from "node:net";
import { io as ioClient, type Socket as ClientSocket } from "socket.io-client";
import { CloudsError } from "../../../ra-kernel/clouds-error.js";
import { LamportClock } from "../../../ra-kernel/lamport-clock.js";
import { BadRequestError, ServerUnreachableError } from "../../../servers/transport/errors.js";
import { MAX_MESSAGE_BYTES, SocketIoTransport } from "../../../servers/transport/socket-io-transport.js";
import { PACKED_FRAME_MARKER } from "../../../servers/transport/wire-parser.js";
import type { ReplyEnvelope } from "../../../servers/transport/transport.js";
import { expectRejection } from "../../support/expect-rejection.js";
import { freePort } from "../../support/free-port.js";
import { describeTransportBehaviour } from "../../support/transport-behaviour.js";
import { closed, TOKEN, TransportHarness, type TransportFixture } from "../../support/transport-harness.js";

const fixture: TransportFixture = {
  create: (localId, clock) => new SocketIoTransport(clock, localId),
  listenOptions: (_localId, token) => ({ host: "127.0.0.1", port: 0, token }),
  unreachableAddress: async () => `127.0.0.1:${await freePort()}`,
};

const echo = (kind: string, body: unknown): unknown => ({ kind, body });

/** A socket.io client that speaks the handshake but nothing else of the protocol. */
async function rawClient(h: TransportHarness, address: string): Promise<ClientSocket> {
  const raw = ioClient(`http://${address}`, {
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    auth: { token: TOKEN, localId: "raw" },
  });
  h.track({ close: async () => void raw.disconnect() });
  await new Promise<void>((resolve, reject) => {
    raw.once("hello", () => resolve());
    raw.once("connect_error", reject);
  });
  return raw;
}

/** Emits "req" with the given arguments and an ack; resolves with the reply. */
function ask(raw: ClientSocket, ...args: unknown[]): Promise<ReplyEnvelope> {
  return new Promise((resolve) => raw.emit("req", ...args, resolve));
}

function listenHttp(server: HttpServer | TcpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port));
  });
}

function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk)).on("end", () => resolve(text));
    }).on("error", reject);
  });
}

describe("SocketIoTransport", () => {
  describeTransportBehaviour(fixture);

  describe("over real sockets", () => {
    let h: TransportHarness;

    beforeEach(() => {
      h = new TransportHarness(fixture);
    });

    afterEach(async () => {
      await h.closeAll();
    });

    it("should bind the given host and report the real port", async () => {
      const ds = await h.serve("ds1", echo);
      expect(ds.server.port).to.be.greaterThan(0);
      expect(ds.server.address).to.equal(`127.0.0.1:${ds.server.port}`);
    });

    it("should name an accepted peer by the client's ip and port", async () => {
      const ds = await h.serve("ds1", echo);
      await h.connect("cs1", ds.server.address);
      expect(ds.accepted[0]!.address).to.match(/^127\.0\.0\.1:\d+$/);
    });

    it("should carry a body larger than socket.io's 1 MB default", async () => {
      const big = new Uint8Array(8 * 1024 * 1024).fill(7);
      const ds = await h.serve("ds1", (_kind, body) => (body as { bytes: Uint8Array }).bytes.byteLength);
      const peer = await h.connect("cs1", ds.server.address);
      expect(await peer.request("big", { bytes: big })).to.equal(big.byteLength);
    });

    it("should carry a message whose byte arrays exceed the frame limit in all (a write-back of 16,384 page logs can)", async () => {
      const parts = Array.from({ length: Math.ceil(MAX_MESSAGE_BYTES / (4 << 20)) + 1 }, (_, i) => new Uint8Array(4 << 20).fill(i + 1));
      const ds = await h.serve("ds1", (_kind, body) => (body as { parts: Uint8Array[] }).parts.map((p) => p[p.length - 1]));
      const peer = await h.connect("cs1", ds.server.address);
      expect(await peer.request("commit", { parts })).to.deep.equal(parts.map((_, i) => i + 1));
    });

    it("should carry thousands of byte arrays in one message, both ways (a big write-back)", async () => {
      // socket.io's stock decoder closes the connection on a packet with more than 10.
      const pages = Array.from({ length: 2000 }, (_, i) => ({ page: i, bytes: new Uint8Array(4096).fill(i & 0xff) }));
      const ds = await h.serve("ds1", (_kind, body) => (body as { pages: typeof pages }).pages.map((p) => ({ page: p.page, first: p.bytes[0], bytes: p.bytes })));
      const peer = await h.connect("cs1", ds.server.address);
      const back = await peer.request<{ page: number; first: number; bytes: Uint8Array }[]>("commit", { pages });
      expect(back).to.have.length(2000);
      expect(back.every((p) => p.first === (p.page & 0xff) && p.bytes.length === 4096 && p.bytes[4095] === p.first)).to.equal(true);
    });

    it("should attach to a caller's http server and leave it open when closed", async () => {
      const http = createHttpServer((_req, res) => res.end("healthy"));
      h.track({ close: () => new Promise<void>((resolve) => { http.closeAllConnections(); http.close(() => resolve()); }) });
      const port = await listenHttp(http);
      const transport = new SocketIoTransport(new LamportClock(), "ds1");
      const server = h.track(await transport.listen({ host: "127.0.0.1", port: 0, token: TOKEN, httpServer: http }, echo));
      expect(server.port).to.equal(port);
      const peer = await h.connect("cs1", server.address);
      expect(await peer.request("x", 1)).to.deep.equal({ kind: "x", body: 1 });
      expect(await getText(`http://${server.address}/health`)).to.equal("healthy");
      const gone = closed(peer);
      await server.close();
      expect(await gone).to.be.a("string");
      expect(http.listening).to.equal(true);
      expect(await getText(`http://${server.address}/health`)).to.equal("healthy");
    });

    it("should answer 404 to plain HTTP requests on its own server", async () => {
      const ds = await h.serve("ds1", echo);
      expect(await getText(`http://${ds.server.address}/`)).to.equal("");
    });

    it("should answer malformed envelopes with BadRequestError, ignore other events, and keep serving", async () => {
      const kinds: string[] = [];
      const ds = await h.serve("ds1", (kind, body) => {
        kinds.push(kind);
        return echo(kind, body);
      });
      const raw = await rawClient(h, ds.server.address);
      const garbage: unknown[][] = [
        [42], [null], ["x".repeat(1_000_000)], [[1, 2]], [], [{}],
        [{ kind: "", clock: 1 }], [{ kind: "k".repeat(65), clock: 1 }], [{ kind: 7, clock: 1 }],
        [{ kind: "ok", clock: "1" }], [{ kind: "ok", clock: null }], [{ kind: "ok", clock: 1e308 }], [{ kind: "ok", clock: -1 }],
        [{ kind: "ok" }], [{ kind: "ok", clock: 1 }, "extra"],
      ];
      for (const args of garbage) {
        const reply = await ask(raw, ...args);
        expect(reply.ok, JSON.stringify(args).slice(0, 80)).to.equal(false);
        expect(reply.error!.name).to.equal("BadRequestError");
        expect(reply.clock).to.be.a("number");
      }
      raw.emit("req", 42);
      raw.emit("req", null);
      raw.emit("nonsense", { kind: "x", clock: 1 });
      raw.emit("hello", { id: "evil" });
      raw.emit("req", { kind: "no-ack", clock: 1, body: {} });
      const good = await ask(raw, { kind: "echo", clock: 5, body: { a: 1 } });
      expect(good).to.include({ ok: true });
      expect(good.body).to.deep.equal({ kind: "echo", body: { a: 1 } });
      expect(kinds).to.deep.equal(["no-ack", "echo"]);
      const peer = await h.connect("cs1", ds.server.address);
      expect(await peer.request("after", 1)).to.deep.equal({ kind: "after", body: 1 });
    });

    it("should close only a connection whose packets cannot be decoded", async () => {
      const ds = await h.serve("ds1", echo);
      const truncatedPackedFrame = Buffer.from([PACKED_FRAME_MARKER, 0, 0, 0, 99, 0x35]);
      for (const packet of ['42["req",', '42["disconnect"]', "9nonsense", truncatedPackedFrame]) {
        const raw = await rawClient(h, ds.server.address);
        const gone = new Promise((resolve) => raw.once("disconnect", resolve));
        raw.io.engine.write(packet);
        await gone;
      }
      const peer = await h.connect("cs1", ds.server.address);
      expect(await peer.request("after", 1)).to.deep.equal({ kind: "after", body: 1 });
    });

    it("should give up connecting after connectTimeoutMs", async () => {
      const held: TcpSocket[] = [];
      const silent = createTcpServer((socket) => void held.push(socket));
      h.track({ close: () => new Promise<void>((resolve) => { held.forEach((s) => s.destroy()); silent.close(() => resolve()); }) });
      const address = `127.0.0.1:${await listenHttp(silent)}`;
      const started = Date.now();
      const err = await expectRejection(h.connect("cs1", address, { connectTimeoutMs: 150 }), ServerUnreachableError);
      expect(Date.now() - started).to.be.lessThan(1500);
      expect(err.address).to.equal(address);
    });

    it("should refuse a handshake without a usable localId", async () => {
      const ds = await h.serve("ds1", echo);
      const err = await expectRejection(h.connect("", ds.server.address), BadRequestError);
      expect(err.field).to.equal("localId");
    });

    it("should answer with an error when the handler's reply cannot be serialized", async () => {
      const ds = await h.serve("ds1", () => ({ n: 10n }));
      const peer = await h.connect("cs1", ds.server.address);
      const err = await expectRejection(peer.request("bigint", {}), CloudsError);
      expect(err.message).to.match(/could not be sent/);
      expect(peer.closed).to.equal(false);
    });

    it("should reject a request whose body cannot be serialized", async () => {
      const ds = await h.serve("ds1", echo);
      const peer = await h.connect("cs1", ds.server.address);
      const err = await expectRejection(peer.request("bigint", { n: 1n }), BadRequestError);
      expect(err.field).to.equal("body");
      expect(await peer.request("x", 1)).to.deep.equal({ kind: "x", body: 1 });
    });
  });
});
