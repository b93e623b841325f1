import { expect } from "chai";
import { newSysName, type ServerId } from "../../../ra-kernel/ids.js";
import { LamportClock } from "../../../ra-kernel/lamport-clock.js";
import { BadPathError, DirectoryNotEmptyError, NameExistsError, NameNotFoundError, NotADirectoryError, ProtectedNameError } from "../../../servers/name/errors.js";
import { InMemoryNameDirectory } from "../../../servers/name/in-memory-name-directory.js";
import type { Binding } from "../../../servers/name/name-directory.js";
import { NameServer } from "../../../servers/name/name-server.js";
import type { NameChanged } from "../../../servers/name/protocol.js";
import { BadRequestError, UnknownMessageError } from "../../../servers/transport/errors.js";
import { InMemoryBus, InMemoryTransport } from "../../../servers/transport/in-memory-transport.js";
import type { Peer, RequestContext, TransportServer } from "../../../servers/transport/transport.js";
import { NameClient } from "../../../servers/name/protocol.js";
import { expectRejection } from "../../support/expect-rejection.js";
import { FakePeer } from "../../support/fake-peer.js";
import { until } from "../../support/until.js";

const sysname = newSysName("ds1" as ServerId);

describe("NameServer", () => {
  let directory: InMemoryNameDirectory;
  let server: NameServer;
  let peer: FakePeer;
  let ctx: RequestContext;

  beforeEach(() => {
    directory = new InMemoryNameDirectory();
    server = new NameServer(directory, { clock: new LamportClock() });
    peer = new FakePeer("shell:1");
    ctx = { peer, clock: 1 };
  });

  afterEach(async () => {
    await server.close();
  });

  const call = (kind: string, body: unknown): Promise<unknown> => Promise.resolve(server.handler(kind, body, ctx));

  it("should answer every kind", async () => {
    const bound = (await call("name.bind", { path: "a/b", sysname, kind: "object", meta: { x: 1 } })) as Binding;
    expect(bound).to.include({ path: "/a/b", sysname, kind: "object" });
    expect(await call("name.lookup", { path: "/a/b" })).to.deep.equal(bound);
    expect(await call("name.lookup", { path: "/zz" })).to.equal(null);
    expect(((await call("name.list", { path: "/a" })) as Binding[]).map((b) => b.path)).to.deep.equal(["/a/b"]);
    expect(await call("name.rename", { from: "/a/b", to: "/c" })).to.include({ path: "/c", sysname });
    expect(await call("name.unbind", { path: "/c" })).to.deep.equal({ removed: true });
    expect(await call("name.unbind", { path: "/c" })).to.deep.equal({ removed: false });
    expect(await call("name.servers", {})).to.deep.equal([]);
    const info = { id: "cs1", role: "compute", address: "127.0.0.1:7002", httpAddress: "127.0.0.1:8002", pid: 7 };
    expect(await call("name.register-server", info)).to.deep.include({ path: "/sys/servers/cs1", kind: "server", meta: info });
    expect(((await call("name.servers", {})) as Binding[]).map((b) => b.path)).to.deep.equal(["/sys/servers/cs1"]);
    expect(await call("name.watch", { path: "sys//" })).to.deep.equal({ path: "/sys" });
  });

  it("should answer refusals with the named errors", async () => {
    await call("name.bind", { path: "/d/x", sysname, kind: "object" });
    await expectRejection(call("name.bind", { path: "/d/x", sysname, kind: "object" }), NameExistsError);
    await expectRejection(call("name.unbind", { path: "/d" }), DirectoryNotEmptyError);
    await expectRejection(call("name.rename", { from: "/nope", to: "/b" }), NameNotFoundError);
    await expectRejection(call("name.list", { path: "/nope" }), NameNotFoundError);
  });

  it("should keep /sys: refuse to remove or rename names there, or bind anything but a class under /sys/classes", async () => {
    const info = { id: "cs1", role: "compute", address: "127.0.0.1:7002", httpAddress: "127.0.0.1:8002", pid: 7 };
    await call("name.register-server", info);
    await call("name.bind", { path: "/sys/classes/Rectangle", sysname, kind: "class", replace: true });
    for (const path of ["/sys/servers/cs1", "/sys/classes/Rectangle", "/sys/classes", "/sys"]) {
      const err = await expectRejection(call("name.unbind", { path }), ProtectedNameError);
      expect(err.message).to.contain(`${path} is kept by the cluster`).and.contain("rm --force");
    }
    await expectRejection(call("name.rename", { from: "/sys/classes/Rectangle", to: "/R" }), ProtectedNameError);
    await call("name.bind", { path: "/x", sysname, kind: "object" });
    await expectRejection(call("name.rename", { from: "/x", to: "/sys/x" }), ProtectedNameError);
    await expectRejection(call("name.bind", { path: "/sys/servers/evil", sysname: null, kind: "server" }), ProtectedNameError);
    await expectRejection(call("name.bind", { path: "/sys/obj", sysname, kind: "object" }), ProtectedNameError);
    await expectRejection(call("name.bind", { path: "/sys/classes/a/B", sysname, kind: "class" }), ProtectedNameError);
    expect(await call("name.lookup", { path: "/sys/servers/cs1" })).to.not.equal(null);
    expect(await call("name.lookup", { path: "/sys/classes/Rectangle" })).to.not.equal(null);
  });

  it("should unbind a name under /sys when forced, and refuse the lease of a server whose entry went, so it registers again", async () => {
    const info = { id: "cs1", role: "compute", address: "127.0.0.1:7002", httpAddress: "127.0.0.1:8002", pid: 7 };
    await call("name.register-server", info);
    expect(await call("name.renew", { id: "cs1", address: info.address })).to.deep.equal({ renewed: true });
    expect(await call("name.unbind", { path: "/sys/servers/cs1", force: true })).to.deep.equal({ removed: true });
    expect(await call("name.renew", { id: "cs1", address: info.address })).to.deep.equal({ renewed: false });
    await call("name.register-server", info);
    expect(await call("name.lookup", { path: "/sys/servers/cs1" })).to.deep.include({ kind: "server" });
  });

  it("should refuse malformed input without changing anything", async () => {
    const before = await directory.list("/");
    const bad: Array<[string, unknown]> = [
      ["name.bind", undefined],
      ["name.bind", { path: "/a", sysname: 5, kind: "object" }],
      ["name.bind", { path: "/a", sysname, kind: "object", meta: { big: "y".repeat(20_000) } }],
      ["name.rename", { from: "/a" }],
      ["name.register-server", { id: "x" }],
      ["name.watch", {}],
    ];
    for (const [kind, body] of bad) {
      const err = await expectRejection(call(kind, body), BadRequestError);
      expect(err.kind).to.equal(kind);
    }
    await expectRejection(call("name.bind", { path: "/a/../etc", sysname, kind: "object" }), BadPathError);
    await expectRejection(call("name.delete", { path: "/a" }), UnknownMessageError);
    await expectRejection(call("name.servers", null), BadRequestError);
    expect(await directory.list("/")).to.deep.equal(before);
  });

  it("should push changes under a watched prefix to the watching peer", async () => {
    await call("name.watch", { path: "/users" });
    await call("name.watch", { path: "/users/ana" });
    await call("name.bind", { path: "/users/ana/RectA", sysname, kind: "object" });
    await call("name.bind", { path: "/other", sysname, kind: "object" });
    await call("name.rename", { from: "/users/ana", to: "/archive/ana" });
    const pushes = peer.sent.map((r) => ({ kind: r.kind, ...(r.body as NameChanged) }));
    expect(pushes.every((p) => p.kind === "name.changed")).to.equal(true);
    expect(pushes.map((p) => [p.path, p.binding?.kind ?? null])).to.deep.equal([
      ["/users", "directory"],
      ["/users/ana", "directory"],
      ["/users/ana/RectA", "object"],
      ["/users/ana", null],
      ["/users/ana/RectA", null],
    ]);
    const clocks = pushes.map((p) => p.clock);
    expect(clocks).to.deep.equal([...clocks].sort((a, b) => a - b));
    expect(new Set(clocks).size).to.equal(clocks.length);
  });

  it("should keep serving when a watcher fails and drop it once closed", async () => {
    const failing = new FakePeer("shell:2");
    failing.request = async () => {
      throw new Error("gone");
    };
    await server.handler("name.watch", { path: "/" }, { peer: failing, clock: 1 });
    await call("name.watch", { path: "/" });
    await call("name.bind", { path: "/a", sysname, kind: "object" });
    expect(peer.sent).to.have.length(1);
    await peer.close();
    await call("name.bind", { path: "/b", sysname, kind: "object" });
    expect(peer.sent).to.have.length(1);
    expect(await call("name.lookup", { path: "/b" })).to.include({ path: "/b" });
  });

  it("should forget a watcher whose peer closed without telling", async () => {
    await call("name.watch", { path: "/" });
    peer.closed = true;
    await call("name.bind", { path: "/a", sysname, kind: "object" });
    peer.closed = false;
    await call("name.bind", { path: "/b", sysname, kind: "object" });
    expect(peer.sent).to.have.length(0);
  });

  it("should bound the prefixes one peer may watch", async () => {
    const small = new NameServer(new InMemoryNameDirectory(), { maxWatchesPerPeer: 2 });
    try {
      await small.handler("name.watch", { path: "/a" }, ctx);
      await small.handler("name.watch", { path: "/b" }, ctx);
      await small.handler("name.watch", { path: "/a" }, ctx);
      await expectRejection(Promise.resolve(small.handler("name.watch", { path: "/c" }, ctx)), BadRequestError);
    } finally {
      await small.close();
    }
  });

  describe("registry view", () => {
    const cs1 = { id: "cs1", role: "compute", address: "127.0.0.1:7002", httpAddress: "127.0.0.1:7002", pid: 7 };
    const cs2 = { ...cs1, id: "cs2", address: "127.0.0.1:7003", pid: 8 };
    const states = (bindings: unknown) => (bindings as Binding[]).map((b) => [b.meta.id, b.meta.state]);

    it("should leave out of name.servers a server whose connection closed, and list it down when asked for all", async () => {
      const other = new FakePeer("cs2");
      await call("name.register-server", cs1);
      await server.handler("name.register-server", cs2, { peer: other, clock: 1 });
      await other.close();
      expect(states(await call("name.servers", {}))).to.deep.equal([["cs1", "up"]]);
      expect(states(await call("name.servers", { all: true }))).to.deep.equal([["cs1", "up"], ["cs2", "down"]]);
      expect(states(await call("name.list", { path: "/sys/servers" })), "ls shows all, with state").to.deep.equal([["cs1", "up"], ["cs2", "down"]]);
      expect(((await call("name.lookup", { path: "/sys/servers/cs2" })) as Binding).meta.stateReason).to.equal("its connection to the name server closed");
    });

    it("should bring a server back when it registers again, possibly at a new address", async () => {
      const old = new FakePeer("cs2");
      await server.handler("name.register-server", cs2, { peer: old, clock: 1 });
      await old.close();
      expect(await call("name.renew", { id: "cs2", address: cs2.address }), "a renewal over a new connection").to.deep.equal({ renewed: true });
      expect(states(await call("name.servers", {}))).to.deep.equal([["cs2", "up"]]);
      await call("name.register-server", { ...cs2, address: "127.0.0.1:7999" });
      expect(await call("name.renew", { id: "cs2", address: cs2.address }), "the old process's address").to.deep.equal({ renewed: false });
      expect(((await call("name.servers", {})) as Binding[]).map((b) => b.meta.address)).to.deep.equal(["127.0.0.1:7999"]);
    });

    it("should let a lease run out and come back on renewal", async () => {
      let now = 1000;
      const timed = new NameServer(new InMemoryNameDirectory(), { leaseMs: 1500, now: () => now });
      try {
        await timed.handler("name.register-server", cs1, ctx);
        now += 1600;
        expect(await timed.handler("name.servers", {}, ctx)).to.deep.equal([]);
        expect(await timed.handler("name.renew", { id: "cs1", address: cs1.address }, ctx)).to.deep.equal({ renewed: true });
        expect(states(await timed.handler("name.servers", {}, ctx))).to.deep.equal([["cs1", "up"]]);
      } finally {
        await timed.close();
      }
    });

    it("should push a server going down to watchers of its path", async () => {
      const watcher = new FakePeer("shell:2");
      const other = new FakePeer("cs2");
      await server.handler("name.watch", { path: "/sys/servers" }, { peer: watcher, clock: 1 });
      await server.handler("name.register-server", cs2, { peer: other, clock: 1 });
      await other.close();
      await until(() => watcher.sent.some((r) => (r.body as NameChanged).binding?.meta.state === "down"), 5000, "a push of cs2 down");
      const pushes = watcher.sent.map((r) => r.body as NameChanged).filter((c) => c.path === "/sys/servers/cs2");
      expect(pushes.map((c) => c.binding?.meta.state)).to.include.members(["up", "down"]);
    });
  });

  it("should close its directory", async () => {
    await server.close();
    await expectRejection(directory.lookup("/a"), Error);
  });
});

describe("NameServer over the in-memory transport", () => {
  const token = "test-token";
  let server: NameServer;
  let listening: TransportServer;
  let peer: Peer;
  let client: NameClient;

  beforeEach(async () => {
    const bus = new InMemoryBus();
    server = new NameServer(new InMemoryNameDirectory());
    listening = await new InMemoryTransport(bus, new LamportClock(), "ns1").listen({ host: "ns1", port: 0, token }, server.handler);
    peer = await new InMemoryTransport(bus, new LamportClock(), "shell:1").connect(listening.address, { token, localId: "shell:1" });
    client = new NameClient(peer);
    peer.setHandler(client.handler);
  });

  afterEach(async () => {
    await peer.close();
    await listening.close();
    await server.close();
  });

  it("should serve a client and push watched changes to it", async () => {
    const changes: NameChanged[] = [];
    let seen!: () => void;
    const ds1Pushed = new Promise<void>((resolve) => (seen = resolve));
    await client.watch("/sys/servers", (c) => {
      changes.push(c);
      if (c.path === "/sys/servers/ds1") seen();
    });
    await client.registerServer({ id: "ds1" as ServerId, role: "data", address: "mem:ds1:1", httpAddress: "127.0.0.1:0", pid: 99 });
    await expectRejection(client.bind("/sys/servers/ds1/x", sysname, "object"), ProtectedNameError);
    await client.bind("/o", sysname, "object");
    await expectRejection(client.bind("/o/x", sysname, "object"), NotADirectoryError);
    expect((await client.servers()).map((b) => b.meta.id)).to.deep.equal(["ds1"]);
    await ds1Pushed;
    expect(changes.find((c) => c.path === "/sys/servers/ds1")?.binding).to.include({ kind: "server" });
  });

  it("should reply to malformed requests with an error and keep serving", async () => {
    await expectRejection(peer.request("name.bind", { path: 1 }), BadRequestError);
    await expectRejection(peer.request("name.nope", {}), UnknownMessageError);
    await expectRejection(client.bind("/a", sysname, "object").then(() => client.bind("/a", sysname, "object")), NameExistsError);
    expect(await client.lookup("a")).to.include({ path: "/a", sysname });
  });
});
