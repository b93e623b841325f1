/**
 * ServerDirectory over the in-memory transport: the registry view (live servers, or all with
 * state) and stale-while-error — what it answers while the name server does not.
 */
import { expect } from "chai";
import type { ServerId } from "../../../ra-kernel/ids.js";
import { ServerDirectory, type RegisteredServer } from "../../../servers/host/server-directory.js";
import { NameServerUnreachableError } from "../../../servers/name/errors.js";
import { NameClient, type ServerInfo } from "../../../servers/name/protocol.js";
import { ServerUnreachableError } from "../../../servers/transport/errors.js";
import { InMemoryBus } from "../../../servers/transport/in-memory-transport.js";
import type { PeerCache } from "../../../servers/transport/peer-cache.js";
import { expectRejection } from "../../support/expect-rejection.js";
import { MemoryNameServer } from "../../support/memory-name-server.js";
import { until } from "../../support/until.js";

function server(id: string, role: ServerInfo["role"], port: number): ServerInfo {
  return { id: id as ServerId, role, address: `mem:${id}:${port}`, httpAddress: "", pid: port };
}

describe("ServerDirectory", () => {
  let ns: MemoryNameServer;
  let directory: ServerDirectory;
  /** cs1 and ds1 register over this cache; closing it is their death. */
  let serversCache: PeerCache;

  beforeEach(async () => {
    ns = await MemoryNameServer.start(new InMemoryBus(), { leaseMs: 60_000 });
    serversCache = ns.peerCache("servers");
    const names = new NameClient(await serversCache.get(ns.address));
    for (const s of [server("cs1", "compute", 1), server("cs2", "compute", 2), server("ds1", "data", 3)]) await names.registerServer(s);
    directory = new ServerDirectory(ns.peerCache("ws"), ns.address, { registryTimeoutMs: 50, nameTimeoutMs: 50 });
  });

  afterEach(async () => {
    await ns.close();
  });

  it("should list the live servers of a role, and every server with its state", async () => {
    expect((await directory.list("compute")).map((s) => s.id)).to.deep.equal(["cs1", "cs2"]);
    await serversCache.close();
    expect(await directory.list()).to.deep.equal([], "their connection closed: all down");
    const view = await directory.registry();
    expect(view.fresh).to.equal(true);
    expect(view.servers.map((s) => [s.id, s.state])).to.deep.equal([["cs1", "down"], ["cs2", "down"], ["ds1", "down"]]);
    expect(view.servers[0].stateReason).to.equal("its connection to the name server closed");
  });

  it("should tell listeners when the view changes, not when it stays the same", async () => {
    const seen: RegisteredServer[][] = [];
    directory.onChange((servers) => seen.push(servers));
    await directory.list();
    await directory.list();
    await serversCache.close();
    await directory.list();
    expect(seen.map((v) => v.filter((s) => s.state === "up").length)).to.deep.equal([3, 0]);
  });

  it("should serve the last known registry while the name server does not answer, asking again one request at a time", async () => {
    await directory.list();
    ns.pause();
    expect((await directory.list("compute")).map((s) => s.id)).to.deep.equal(["cs1", "cs2"]);
    expect(directory.nameServerReachable).to.equal(false);
    const held = ns.held;
    for (let i = 0; i < 5; i++) expect((await directory.list("compute")).length).to.equal(2);
    await until(() => ns.held > held, 5000, "the background request");
    expect(ns.held - held, "one background request for five calls").to.equal(1);
    const view = await directory.registry();
    expect(view.fresh).to.equal(false);
    expect(directory.cached("data").map((s) => s.id)).to.deep.equal(["ds1"]);
  });

  it("should become fresh again once the name server answers", async () => {
    await directory.list();
    ns.pause();
    await directory.list();
    ns.resume();
    await until(async () => (await directory.registry()).fresh, 5000, "a fresh registry");
    await serversCache.close();
    expect(await directory.list(), "asked again: the servers' connection closed").to.deep.equal([]);
  });

  it("should keep serving known addresses, also forgotten ones, while the name server does not answer", async () => {
    expect(await directory.address("ds1" as ServerId)).to.equal("mem:ds1:3");
    directory.forget("ds1" as ServerId);
    ns.pause();
    expect(await directory.address("ds1" as ServerId)).to.equal("mem:ds1:3");
    expect(await directory.address("cs2" as ServerId), "learned with ds1's").to.equal("mem:cs2:2");
    await expectRejection(directory.address("ds9" as ServerId), NameServerUnreachableError);
  });

  it("should fail clearly when it has nothing to serve, or for a name lookup, while the name server does not answer", async () => {
    ns.pause();
    const err = await expectRejection(directory.list(), NameServerUnreachableError);
    expect(err.message).to.equal(`name server at ${ns.address} is unreachable (no answer within 50 ms)`);
    expect(err).to.be.instanceOf(ServerUnreachableError);
    const waited = await expectRejection(directory.names().then((n) => n.lookup("/RectA")), NameServerUnreachableError);
    expect(waited.message, "a slow registry call does not fail lookups: this one waited its own time").to.match(/is unreachable \(no answer within 50 ms\)$/);
    const refused = await expectRejection(directory.names().then((n) => n.lookup("/RectA")), NameServerUnreachableError);
    expect(refused.message, "at once: a name call got no answer either").to.match(/is unreachable \(no answer; asking again\)$/);
  });

  it("should not fail name lookups because a registry call was slow", async () => {
    await directory.list();
    ns.pause();
    await directory.list(); // no answer within 50 ms: the registry as last known
    expect((await directory.registry()).fresh).to.equal(false);
    const lookup = directory.names().then((n) => n.lookup("/nothing"));
    ns.resume();
    expect(await lookup, "answered once the name server could").to.equal(null);
    expect((await directory.registry()).fresh).to.equal(true);
  });

  it("should bound a name call by its timeout when the name server stops answering", async () => {
    const names = await directory.names();
    ns.pause();
    const err = await expectRejection(names.lookup("/RectA"), NameServerUnreachableError);
    expect(err.message).to.match(/no answer within 50 ms/);
    expect(directory.nameServerReachable).to.equal(false);
  });

  it("should fail clearly when nothing listens at the name server's address", async () => {
    await ns.close();
    const err = await expectRejection(directory.list(), NameServerUnreachableError);
    expect(err.message).to.match(/^name server at .* is unreachable \(/);
  });
});
