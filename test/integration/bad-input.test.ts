/**
 * Bad input anywhere gets a clear error and the cluster keeps serving (real processes):
 * shell lines, wire messages, raw socket garbage, missing or wrong tokens, HTTP calls.
 */
import { expect } from "chai";
import * as path from "node:path";
import { io as ioClient, type Socket } from "socket.io-client";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { SocketIoTransport } from "../../servers/transport/socket-io-transport.js";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import { AuthError, BadRequestError, UnknownMessageError } from "../../servers/transport/errors.js";
import type { Peer } from "../../servers/transport/transport.js";

describe("Bad input (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  const peers: Peer[] = [];
  const sockets: Socket[] = [];

  before(async () => {
    cluster = await TestCluster.start();
    await cluster.exec(`load ${path.join(REPO_ROOT, "objects/examples/rectangle.ts")}`);
    await cluster.exec("new Rectangle RectA");
    await cluster.exec("RectA.size(5, 10)");
  });

  after(async () => {
    await Promise.allSettled(peers.map((p) => p.close()));
    for (const s of sockets) s.disconnect();
    await cluster?.stop();
  });

  async function stillServes(): Promise<void> {
    const r = await cluster.exec("RectA.area()");
    expect(r.stdout, r.stderr).to.equal("50\n");
  }

  async function peerTo(id: string, token = cluster.token): Promise<Peer> {
    const peer = await new SocketIoTransport(new LamportClock(), "tester").connect(cluster.address(id), { token, localId: "tester" });
    peers.push(peer);
    return peer;
  }

  const lines: [string, RegExp][] = [
    ["Nobody.area()", /^error: NameUnboundError: no object named \/Nobody\n$/],
    ["RectA.perimeter()", /^error: UnknownEntryError: Rectangle has no entry 'perimeter' \(entries: size, area\) \(at cs\d\)\n$/],
    ["RectA.size(1)", /^error: ArgumentError: Rectangle\.size takes 2 arguments \(x: number, y: number\), got 1 \(at cs\d\)\n$/],
    ["RectA.size('wide', 2)", /^error: ArgumentError: Rectangle\.size: argument 1 'x' must be a number, got string \(at cs\d\)\n$/],
    ["RectA.area(", /^error: LineSyntaxError: expected '\)' to close the argument list at column 12\n$/],
    ["lss", /^error: LineSyntaxError: unknown command 'lss' \(try 'help'\)/],
    ["new Square S1", /^error: ClassNotFoundError: no class Square is registered \(load its file first\) \(at cs\d\)\n$/],
    ["new Rectangle RectA", /^error: NameExistsError: \/RectA is already bound \(rm it first\)\n$/],
    ["new Rectangle R2(1, 2)", /^error: ArgumentError: Rectangle\.constructor takes 0 arguments \(\), got 2 \(at cs\d\)\n$/],
    ["RectA.constructor()", /^error: UnknownEntryError: Rectangle has no entry 'constructor' \(entries: size, area\) \(at cs\d\)\n$/],
    ["@cs9 RectA.area()", /^error: UnknownServerError: no compute server 'cs9' \(compute servers: cs1, cs2\)\n$/],
    ["load /no/such/file.ts", /^error: CompileError: no such file: \/no\/such\/file\.ts\n$/],
  ];

  for (const [line, message] of lines) {
    it(`should answer '${line}' with one clear error line and exit 1`, async () => {
      const r = await cluster.exec(line);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal("");
      expect(r.stderr).to.match(message);
    });
  }

  it("should keep serving after all of those", stillServes);

  it("should have bound and allocated nothing for a creation whose arguments were refused", async () => {
    expect((await cluster.exec("ls")).stdout).to.not.match(/^R2\b/m);
    expect((await cluster.exec("new Rectangle R2")).stdout).to.match(/^\/R2 -> sys:/);
  });

  it("should refuse a malformed invocation message naming the field", async () => {
    const cs1 = await peerTo("cs1");
    try {
      await cs1.request("compute.invoke", { thread: "t", depth: 0, target: 42, entry: "area", args: [] });
      expect.fail("should have been refused");
    } catch (err) {
      expect(err).to.be.instanceOf(BadRequestError);
      expect((err as BadRequestError).field).to.equal("target");
    }
    try {
      await cs1.request("compute.nonsense", {});
      expect.fail("should have been refused");
    } catch (err) {
      expect(err).to.be.instanceOf(UnknownMessageError);
    }
    await stillServes();
  });

  it("should refuse a page write of the wrong size without storing it", async () => {
    const ds1 = await peerTo("ds1");
    const target = (await (await cluster.connect()).resolve("RectA")) as string;
    const { epoch } = await ds1.request<{ epoch: number }>("data.hello", { serverId: "tester" });
    try {
      await ds1.request("data.page.commit", { epoch, pages: [{ segment: target, page: 0, version: 1, bytes: new Uint8Array(10) }] });
      expect.fail("should have been refused");
    } catch (err) {
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).message).to.match(/page|segment/);
    }
    await stillServes();
  });

  it("should survive garbage on an authenticated socket", async () => {
    const socket = ioClient(`http://${cluster.address("cs1")}`, { transports: ["websocket"], auth: { token: cluster.token, localId: "garbage" }, reconnection: false, forceNew: true });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("connect_error", reject);
    });
    socket.emit("req", 42);
    socket.emit("req", null, () => undefined);
    socket.emit("req", { kind: "x".repeat(10_000), clock: 1, body: {} }, () => undefined);
    socket.emit("whatever", "a", "b");
    const reply = await new Promise<{ ok: boolean; error?: { name: string } }>((resolve) => socket.emit("req", { kind: 7, clock: "no" }, resolve));
    expect(reply.ok).to.equal(false);
    expect(reply.error?.name).to.equal("BadRequestError");
    await stillServes();
  });

  it("should refuse a connection without the cluster token or with a wrong one", async () => {
    for (const token of ["", "not-the-token"]) {
      try {
        await peerTo("cs1", token);
        expect.fail("should have been refused");
      } catch (err) {
        expect(err).to.be.instanceOf(AuthError);
        expect((err as Error).message).to.match(/token/);
      }
    }
    await stillServes();
  });

  it("should refuse HTTP calls without the token and answer /health and /metrics with it", async () => {
    const url = `http://${cluster.address("ds1")}`;
    const denied = await fetch(`${url}/health`);
    expect(denied.status).to.equal(401);
    expect(((await denied.json()) as { error: string }).error).to.match(/token is missing/);
    const headers = { authorization: `Bearer ${cluster.token}` };
    const health = (await (await fetch(`${url}/health`, { headers })).json()) as { id: string; status: string };
    expect(health).to.deep.include({ id: "ds1", status: "ok" });
    const metrics = await (await fetch(`${url}/metrics`, { headers })).text();
    expect(metrics).to.match(/^clouds_process_resident_bytes\{server="ds1",role="data"\} \d+$/m);
    expect(metrics).to.match(/^clouds_commits_total\{server="ds1",role="data"\} [1-9]\d*$/m);
  });
});
