import { expect } from "chai";
import { DataServer } from "../../../servers/data/data-server.js";
import { InMemorySegmentStore } from "../../../servers/data/in-memory-segment-store.js";
import { asServerId, PAGE_SIZE, type SysName } from "../../../ra-kernel/ids.js";
import type { ObjectDescriptor } from "../../../ra-kernel/object-descriptor.js";
import { FakePeer } from "../../support/fake-peer.js";
import { BadRequestError, UnknownMessageError } from "../../../servers/transport/errors.js";

/** A compute server as the data server sees it: a peer that records invalidations. */
function computePeer(id: string): FakePeer {
  const peer = new FakePeer(id);
  peer.reply = { invalidated: 1 };
  return peer;
}

describe("DataServer", () => {
  let store: InMemorySegmentStore;
  let server: DataServer;
  let cs1: FakePeer;
  let cs2: FakePeer;
  let obj: ObjectDescriptor;

  const call = (peer: FakePeer, kind: string, body: unknown) => server.handler(kind, body, { peer, clock: 1 });
  const page = (fill: number) => new Uint8Array(PAGE_SIZE).fill(fill);
  const invalidations = (peer: FakePeer) => peer.sent.filter((s) => s.kind === "compute.invalidate").map((s) => (s.body as { pages: { page: number }[] }).pages.map((p) => p.page));

  beforeEach(async () => {
    store = new InMemorySegmentStore({ serverId: asServerId("ds1") });
    server = new DataServer(store, asServerId("ds1"));
    cs1 = computePeer("cs1");
    cs2 = computePeer("cs2");
    server.attach(cs1);
    server.attach(cs2);
    await call(cs1, "data.class.register", { name: "Rectangle", code: "", entries: [], sourceFile: "r.ts", sourceHash: "h1" });
    obj = (await call(cs1, "data.object.create", { className: "Rectangle", classVersion: 1 })) as ObjectDescriptor;
  });

  it("should serve a never-written page as zeros with version 0", async () => {
    const got = (await call(cs1, "data.page.read", { segment: obj.segments.data, page: 0, mode: "read" })) as { bytes: null; version: number };
    expect(got.bytes).to.equal(null);
    expect(got.version).to.equal(0);
  });

  it("should invalidate other holders before committing a page", async () => {
    const seg = obj.segments.data as SysName;
    await call(cs1, "data.page.read", { segment: seg, page: 0, mode: "read" });
    await call(cs2, "data.page.read", { segment: seg, page: 0, mode: "read" });
    await call(cs2, "data.page.commit", { pages: [{ segment: seg, page: 0, bytes: page(7) }] });
    expect(invalidations(cs1)).to.deep.equal([[0]]);
    expect(invalidations(cs2)).to.deep.equal([]);
    const got = (await call(cs1, "data.page.read", { segment: seg, page: 0, mode: "read" })) as { bytes: Uint8Array; version: number };
    expect(got.bytes[0]).to.equal(7);
    expect(got.version).to.equal(1);
  });

  it("should keep tracking a holder's other pages after it invalidated one", async () => {
    const seg = obj.segments.data as SysName;
    for (const p of [0, 1]) {
      await call(cs1, "data.page.read", { segment: seg, page: p, mode: "read" });
      await call(cs2, "data.page.read", { segment: seg, page: p, mode: "read" });
    }
    await call(cs2, "data.page.commit", { pages: [{ segment: seg, page: 0, bytes: page(1) }] });
    await call(cs2, "data.page.commit", { pages: [{ segment: seg, page: 1, bytes: page(2) }] });
    expect(invalidations(cs1)).to.deep.equal([[0], [1]]);
  });

  it("should forget a holder whose connection closed", async () => {
    const seg = obj.segments.data as SysName;
    await call(cs1, "data.page.read", { segment: seg, page: 0, mode: "read" });
    await cs1.close();
    await call(cs2, "data.page.commit", { pages: [{ segment: seg, page: 0, bytes: page(3) }] });
    expect(server.directory.holders({ segment: seg, page: 0 })).to.deep.equal(["cs2"]);
  });

  it("should reject malformed messages with an error naming the field, storing nothing", async () => {
    const seg = obj.segments.data as SysName;
    const bad = [
      ["data.page.read", { segment: "nope", page: 0, mode: "read" }, "segment"],
      ["data.page.read", { segment: seg, page: -1, mode: "read" }, "page"],
      ["data.page.commit", { pages: [{ segment: seg, page: 0, bytes: new Uint8Array(5000) }] }, "bytes"],
      ["data.object.create", { className: "no such!", classVersion: 1 }, "className"],
      ["data.object.create", { className: "Rectangle" }, "classVersion"],
    ] as const;
    for (const [kind, body, field] of bad) {
      try {
        await call(cs1, kind, body);
        expect.fail(`${kind} should have been refused`);
      } catch (err) {
        expect(err).to.be.instanceOf(BadRequestError);
        expect((err as BadRequestError).field).to.equal(field);
      }
    }
    expect(store.readPage(seg, 0).version).to.equal(0);
    try {
      await call(cs1, "data.bogus", {});
      expect.fail("should have been refused");
    } catch (err) {
      expect(err).to.be.instanceOf(UnknownMessageError);
    }
  });

  it("should give a class a new version only when its code changed", async () => {
    const same = (await call(cs1, "data.class.register", { name: "Rectangle", code: "", entries: [], sourceFile: "r.ts", sourceHash: "h1" })) as { created: boolean; class: { version: number } };
    expect(same).to.deep.include({ created: false });
    const changed = (await call(cs1, "data.class.register", { name: "Rectangle", code: "x", entries: [], sourceFile: "r.ts", sourceHash: "h2" })) as { created: boolean; class: { version: number } };
    expect(changed.created).to.equal(true);
    expect(changed.class.version).to.equal(2);
  });
});
