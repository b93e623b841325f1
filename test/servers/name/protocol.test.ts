import { expect } from "chai";
import { newSysName, type ServerId } from "../../../ra-kernel/ids.js";
import { BadPathError, NameExistsError, NameNotFoundError } from "../../../servers/name/errors.js";
import { InMemoryNameDirectory } from "../../../servers/name/in-memory-name-directory.js";
import { NameServer } from "../../../servers/name/name-server.js";
import {
  decodeNameChanged,
  decodeNameRequest,
  MAX_META_JSON,
  NameClient,
  type NameChanged,
} from "../../../servers/name/protocol.js";
import { BadRequestError, UnknownMessageError } from "../../../servers/transport/errors.js";
import { expectRejection } from "../../support/expect-rejection.js";
import { fakePeerPair, type FakePeer } from "../../support/fake-peer.js";

const sysname = newSysName("ds1" as ServerId);

function badRequest(kind: string, body: unknown): BadRequestError {
  try {
    decodeNameRequest(kind, body);
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(BadRequestError);
    return err as BadRequestError;
  }
  return expect.fail(`expected ${kind} ${JSON.stringify(body)} to be refused`);
}

describe("name protocol", () => {
  describe("decodeNameRequest", () => {
    it("should decode a bind with defaults and a normalized path", () => {
      expect(decodeNameRequest("name.bind", { path: "RectA", sysname, kind: "object" })).to.deep.equal({
        kind: "name.bind",
        body: { path: "/RectA", sysname, kind: "object", meta: {}, replace: false },
      });
      const dir = decodeNameRequest("name.bind", { path: "/d//", sysname: null, kind: "directory", meta: { a: [1] }, replace: true });
      expect(dir.body).to.deep.equal({ path: "/d", sysname: null, kind: "directory", meta: { a: [1] }, replace: true });
    });

    it("should decode every other kind", () => {
      expect(decodeNameRequest("name.lookup", { path: "a" })).to.deep.equal({ kind: "name.lookup", body: { path: "/a" } });
      expect(decodeNameRequest("name.unbind", { path: "/a" }).body).to.deep.equal({ path: "/a", force: false });
      expect(decodeNameRequest("name.unbind", { path: "/a", force: true }).body).to.deep.equal({ path: "/a", force: true });
      expect(decodeNameRequest("name.rename", { from: "a", to: "b" }).body).to.deep.equal({ from: "/a", to: "/b", replace: false });
      expect(decodeNameRequest("name.list", { path: "/" }).body).to.deep.equal({ path: "/" });
      expect(decodeNameRequest("name.servers", {}).body).to.deep.equal({ all: false });
      expect(decodeNameRequest("name.servers", { all: true }).body).to.deep.equal({ all: true });
      expect(decodeNameRequest("name.renew", { id: "cs1", address: "127.0.0.1:7002" }).body).to.deep.equal({ id: "cs1", address: "127.0.0.1:7002" });
      expect(decodeNameRequest("name.watch", { path: "/sys" }).body).to.deep.equal({ path: "/sys" });
      const info = { id: "ds1", role: "data", address: "127.0.0.1:7001", httpAddress: "127.0.0.1:8001", pid: 4242 };
      expect(decodeNameRequest("name.register-server", info).body).to.deep.equal(info);
    });

    it("should name the field of a malformed body", () => {
      const cases: Array<[string, unknown, string]> = [
        ["name.bind", null, ""],
        ["name.bind", [], ""],
        ["name.bind", { sysname, kind: "object" }, "path"],
        ["name.bind", { path: 7, sysname, kind: "object" }, "path"],
        ["name.bind", { path: "/a", sysname: "sys:nope", kind: "object" }, "sysname"],
        ["name.bind", { path: "/a", kind: "object" }, "sysname"],
        ["name.bind", { path: "/a", sysname: null, kind: "object" }, "sysname"],
        ["name.bind", { path: "/a", sysname: null, kind: "class" }, "sysname"],
        ["name.bind", { path: "/a", sysname, kind: "file" }, "kind"],
        ["name.bind", { path: "/a", sysname, kind: "object", meta: [] }, "meta"],
        ["name.bind", { path: "/a", sysname, kind: "object", meta: "x" }, "meta"],
        ["name.bind", { path: "/a", sysname, kind: "object", meta: { big: "x".repeat(MAX_META_JSON) } }, "meta"],
        ["name.bind", { path: "/a", sysname, kind: "object", meta: { n: 1n } }, "meta"],
        ["name.bind", { path: "/a", sysname, kind: "object", replace: "yes" }, "replace"],
        ["name.bind", { path: "/a".repeat(5000), sysname, kind: "object" }, "path"],
        ["name.lookup", {}, "path"],
        ["name.rename", { from: "/a" }, "to"],
        ["name.rename", { to: "/a" }, "from"],
        ["name.rename", { from: "/a", to: "/b", replace: 1 }, "replace"],
        ["name.register-server", { id: "DS 1", role: "data", address: "a", httpAddress: "b", pid: 1 }, "id"],
        ["name.register-server", { id: "ds1", role: "boss", address: "a", httpAddress: "b", pid: 1 }, "role"],
        ["name.register-server", { id: "ds1", role: "data", httpAddress: "b", pid: 1 }, "address"],
        ["name.register-server", { id: "ds1", role: "data", address: "a", pid: 1 }, "httpAddress"],
        ["name.register-server", { id: "ds1", role: "data", address: "a", httpAddress: "b", pid: 0 }, "pid"],
        ["name.register-server", { id: "ds1", role: "data", address: "a", httpAddress: "b", pid: 1.5 }, "pid"],
        ["name.servers", "now", ""],
        ["name.watch", { path: null }, "path"],
      ];
      for (const [kind, body, field] of cases) {
        const err = badRequest(kind, body);
        expect(err.kind, show(body)).to.equal(kind);
        expect(err.field, `${kind} ${show(body)}`).to.equal(field);
      }
    });

    it("should refuse a malformed path with BadPathError", () => {
      for (const path of ["", "/a/../b", "/a b", `/${"x".repeat(1024)}`]) {
        expect(() => decodeNameRequest("name.lookup", { path })).to.throw(BadPathError);
      }
    });

    it("should refuse an unknown kind", () => {
      for (const kind of ["name.nope", "toString", "__proto__", "x".repeat(1000)]) {
        const err = (() => {
          try {
            decodeNameRequest(kind, {});
          } catch (e) {
            return e;
          }
        })();
        expect(err).to.be.instanceOf(UnknownMessageError);
        expect((err as UnknownMessageError).kind.length).to.be.at.most(64);
      }
    });

    it("should detach meta from the incoming body", () => {
      const meta = { nested: { n: 1 } };
      const req = decodeNameRequest("name.bind", { path: "/a", sysname, kind: "object", meta });
      meta.nested.n = 2;
      expect(req.kind === "name.bind" && req.body.meta).to.deep.equal({ nested: { n: 1 } });
    });
  });

  describe("decodeNameChanged", () => {
    it("should decode a push and refuse a malformed one", () => {
      const binding = { path: "/a", sysname, kind: "object", meta: {}, updatedAt: 5 };
      expect(decodeNameChanged({ path: "/a", binding, clock: 3 })).to.deep.equal({ path: "/a", binding, clock: 3 });
      expect(decodeNameChanged({ path: "/a", binding: null, clock: 4 }).binding).to.equal(null);
      expect(() => decodeNameChanged({ path: "/a", binding: { ...binding, kind: "x" }, clock: 1 })).to.throw(BadRequestError);
      expect(() => decodeNameChanged({ path: "/a", binding: null })).to.throw(BadRequestError);
    });
  });

  describe("NameClient", () => {
    let server: NameServer;
    let client: NameClient;
    let ends: { client: FakePeer; server: FakePeer };

    beforeEach(() => {
      server = new NameServer(new InMemoryNameDirectory());
      ends = fakePeerPair();
      ends.server.setHandler(server.handler);
      client = new NameClient(ends.client);
      ends.client.setHandler(client.handler);
    });

    afterEach(async () => {
      await ends.client.close();
      await server.close();
    });

    it("should bind, look up, list, rename and unbind", async () => {
      const bound = await client.bind("users/ana/RectA", sysname, "object", { meta: { cls: "Rectangle" } });
      expect(bound).to.include({ path: "/users/ana/RectA", sysname, kind: "object" });
      expect(await client.lookup("/users/ana/RectA")).to.deep.equal(bound);
      expect(await client.lookup("/nobody")).to.equal(null);
      expect((await client.list("/users")).map((b) => [b.path, b.kind])).to.deep.equal([["/users/ana", "directory"]]);
      expect((await client.rename("/users/ana", "/users/bob")).path).to.equal("/users/bob");
      expect(await client.unbind("/users/bob/RectA")).to.equal(true);
      expect(await client.unbind("/users/bob/RectA")).to.equal(false);
    });

    it("should rebuild the server's named errors", async () => {
      await client.bind("/a", sysname, "object");
      const exists = await expectRejection(client.bind("/a", sysname, "object"), NameExistsError);
      expect(exists.path).to.equal("/a");
      await expectRejection(client.list("/missing"), NameNotFoundError);
      await expectRejection(client.lookup("/a/../b"), BadPathError);
      await expectRejection(client.bind("/b", null, "object"), BadRequestError);
    });

    it("should register servers and list them", async () => {
      await client.registerServer({ id: "ds1" as ServerId, role: "data", address: "127.0.0.1:7001", httpAddress: "127.0.0.1:8001", pid: 11 });
      await client.registerServer({ id: "cs1" as ServerId, role: "compute", address: "127.0.0.1:7002", httpAddress: "127.0.0.1:8002", pid: 12 });
      const again = await client.registerServer({ id: "ds1" as ServerId, role: "data", address: "127.0.0.1:7101", httpAddress: "127.0.0.1:8101", pid: 13 });
      expect(again).to.include({ path: "/sys/servers/ds1", kind: "server", sysname: null });
      const servers = await client.servers();
      expect(servers.map((b) => [b.path, b.meta.address, b.meta.pid])).to.deep.equal([
        ["/sys/servers/cs1", "127.0.0.1:7002", 12],
        ["/sys/servers/ds1", "127.0.0.1:7101", 13],
      ]);
    });

    it("should deliver watched changes to the listener", async () => {
      const seen: NameChanged[] = [];
      const stop = await client.watch("users", (c) => seen.push(c));
      await client.bind("/users/ana", sysname, "object");
      await client.bind("/elsewhere", sysname, "object");
      await client.unbind("/users/ana");
      await flush();
      expect(seen.map((c) => [c.path, c.binding?.kind ?? null])).to.deep.equal([
        ["/users", "directory"],
        ["/users/ana", "object"],
        ["/users/ana", null],
      ]);
      expect(seen[1].clock).to.be.greaterThan(seen[0].clock);
      stop();
      await client.bind("/users/bob", sysname, "object");
      await flush();
      expect(seen).to.have.length(3);
    });

    it("should refuse pushes of other kinds", () => {
      expect(() => client.handler("name.bind", {}, { peer: ends.client, clock: 1 })).to.throw(UnknownMessageError);
      expect(() => client.handler("name.changed", { path: 1 }, { peer: ends.client, clock: 1 })).to.throw(BadRequestError);
    });
  });
});

/** A short, never-throwing description of a test body. */
function show(body: unknown): string {
  try {
    return String(JSON.stringify(body)).slice(0, 80);
  } catch {
    return String(body);
  }
}

/** Lets fire-and-forget pushes run. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
