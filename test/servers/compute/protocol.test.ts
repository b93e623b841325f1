/**
 * Tests of the compute server's protocol decoding (servers/compute/protocol.ts): every kind
 * decodes a valid body, and each malformed field is refused with a BadRequestError that
 * names the kind and the field; an unknown kind is an UnknownMessageError.
 */
import { expect } from "chai";
import { newSysName, newThreadId, type ServerId } from "../../../ra-kernel/ids.js";
import { decodeComputeRequest } from "../../../servers/compute/protocol.js";
import { BadRequestError, UnknownMessageError } from "../../../servers/transport/errors.js";

const ds1 = "ds1" as ServerId;
const target = newSysName(ds1);
const seg = newSysName(ds1);
const thread = newThreadId("ws-1");

const invoke = { thread, depth: 0, target, entry: "area", args: [] as unknown[] };
const create = { className: "Rectangle", args: [] as unknown[], thread };
const recallBody = { segment: seg, page: 0, version: 3, epoch: 2, action: "invalidate" };

function badRequest(kind: string, body: unknown): BadRequestError {
  try {
    decodeComputeRequest(kind, body);
  } catch (err) {
    expect(err, String(err)).to.be.instanceOf(BadRequestError);
    return err as BadRequestError;
  }
  return expect.fail(`expected ${kind} ${JSON.stringify(body)?.slice(0, 200)} to be refused`);
}

function expectField(kind: string, body: unknown, field: string, errorKind = kind): void {
  const err = badRequest(kind, body);
  expect(err.field, `${kind} ${JSON.stringify(body)?.slice(0, 200)}: ${err.message}`).to.equal(field);
  expect(err.kind).to.equal(errorKind);
}

describe("compute protocol", () => {
  describe("decodeComputeRequest", () => {
    it("should decode an invocation", () => {
      expect(decodeComputeRequest("compute.invoke", { ...invoke, args: [5, "x", { a: [1] }], deadline: 1_700_000_000_000 })).to.deep.equal({
        kind: "compute.invoke", thread, depth: 0, target, entry: "area", args: [5, "x", { a: [1] }], deadline: 1_700_000_000_000,
      });
      const plain = decodeComputeRequest("compute.invoke", { ...invoke, entry: "$get_2", depth: 10_000 });
      expect(plain).to.include({ kind: "compute.invoke", entry: "$get_2", depth: 10_000, deadline: undefined });
    });

    it("should decode the servers an invocation or creation must run after, and a ping", () => {
      expect(decodeComputeRequest("compute.invoke", { ...invoke, after: ["cs3", "cs1"] })).to.include.keys("after");
      expect((decodeComputeRequest("compute.invoke", { ...invoke, after: ["cs3"] }) as { after?: string[] }).after).to.deep.equal(["cs3"]);
      expect((decodeComputeRequest("compute.create", { ...create, after: ["cs3"] }) as { after?: string[] }).after).to.deep.equal(["cs3"]);
      expect(decodeComputeRequest("compute.invoke", invoke)).to.not.have.property("after");
      expect(decodeComputeRequest("compute.ping", {})).to.deep.equal({ kind: "compute.ping" });
    });

    it("should refuse an `after` that is not a short list of server ids, naming the field", () => {
      expectField("compute.invoke", { ...invoke, after: "cs3" }, "after");
      expectField("compute.invoke", { ...invoke, after: Array.from({ length: 33 }, (_, i) => `cs${i}`) }, "after");
      expectField("compute.create", { ...create, after: ["cs 3"] }, "value", "compute.create after[0]");
    });

    it("should accept exactly 1000 arguments", () => {
      const args = Array.from({ length: 1000 }, (_, i) => i);
      const req = decodeComputeRequest("compute.invoke", { ...invoke, args });
      expect(req.kind === "compute.invoke" && req.args).to.have.length(1000);
    });

    it("should decode a creation with and without its optional fields", () => {
      expect(decodeComputeRequest("compute.create", create)).to.deep.equal({
        kind: "compute.create", className: "Rectangle", classVersion: undefined, home: undefined, args: [], thread,
      });
      expect(decodeComputeRequest("compute.create", { ...create, classVersion: 2, home: "ds2", args: [1, 2] })).to.deep.equal({
        kind: "compute.create", className: "Rectangle", classVersion: 2, home: "ds2", args: [1, 2], thread,
      });
    });

    it("should decode a recall", () => {
      expect(decodeComputeRequest("compute.recall", recallBody)).to.deep.equal({ kind: "compute.recall", ...recallBody });
      const downgrade = { segment: target, page: 2 ** 31, version: 1, epoch: 0, action: "downgrade" };
      expect(decodeComputeRequest("compute.recall", downgrade)).to.deep.equal({ kind: "compute.recall", ...downgrade });
    });

    it("should decode a pages query", () => {
      expect(decodeComputeRequest("compute.pages", { segments: [seg, target] })).to.deep.equal({ kind: "compute.pages", segments: [seg, target] });
      expect(decodeComputeRequest("compute.pages", { segments: [] })).to.deep.equal({ kind: "compute.pages", segments: [] });
    });

    it("should decode each probe operation with only its own fields", () => {
      expect(decodeComputeRequest("compute.probe", { op: "fault", segment: seg, page: 3, mode: "write", extra: 1 })).to.deep.equal({
        kind: "compute.probe", op: "fault", segment: seg, page: 3, mode: "write",
      });
      expect(decodeComputeRequest("compute.probe", { op: "fill", segment: seg, page: 0, byte: 255 })).to.deep.equal({ kind: "compute.probe", op: "fill", segment: seg, page: 0, byte: 255 });
      expect(decodeComputeRequest("compute.probe", { op: "drop", segment: seg, page: 1 })).to.deep.equal({ kind: "compute.probe", op: "drop", segment: seg, page: 1 });
      expect(decodeComputeRequest("compute.probe", { op: "evict", segment: seg, page: 1, byte: 3 })).to.deep.equal({ kind: "compute.probe", op: "evict", segment: seg, page: 1 });
      expect(decodeComputeRequest("compute.probe", { op: "echo", home: "ds2", size: 4096 })).to.deep.equal({ kind: "compute.probe", op: "echo", home: "ds2", size: 4096 });
    });

    it("should decode a status request with any or no body", () => {
      expect(decodeComputeRequest("compute.status", {})).to.deep.equal({ kind: "compute.status" });
      expect(decodeComputeRequest("compute.status", undefined)).to.deep.equal({ kind: "compute.status" });
      expect(decodeComputeRequest("compute.status", null)).to.deep.equal({ kind: "compute.status" });
    });

    it("should refuse a body that is not an object", () => {
      for (const body of [[], "x", 7, true]) expectField("compute.invoke", body, "");
    });

    it("should refuse an invocation whose target is not a sysname", () => {
      for (const t of [undefined, "RectA", "/RectA", "sys:ds1:short", target.toLowerCase(), 42, null]) {
        expectField("compute.invoke", { ...invoke, target: t }, "target");
      }
    });

    it("should refuse an entry that is not an identifier", () => {
      for (const e of [undefined, "", "1st", "a.b", "a b", "area()", "x-y", "a".repeat(129), 7, ["area"]]) {
        expectField("compute.invoke", { ...invoke, entry: e }, "entry");
      }
      expect(decodeComputeRequest("compute.invoke", { ...invoke, entry: "a".repeat(128) })).to.include({ entry: "a".repeat(128) });
    });

    it("should refuse arguments that are not an array or are more than 1000", () => {
      for (const a of [undefined, null, "[]", { 0: 1 }, 3]) expectField("compute.invoke", { ...invoke, args: a }, "args");
      const err = badRequest("compute.invoke", { ...invoke, args: new Array(1001).fill(0) });
      expect(err.field).to.equal("args");
      expect(err.message).to.contain("1000");
      expectField("compute.create", { ...create, args: new Array(1001).fill(0) }, "args");
    });

    it("should refuse a depth that is negative, fractional, too deep or missing", () => {
      for (const d of [-1, 0.5, 10_001, "0", undefined, NaN]) expectField("compute.invoke", { ...invoke, depth: d }, "depth");
    });

    it("should refuse a bad thread or deadline", () => {
      for (const t of [undefined, 7, "t".repeat(129)]) expectField("compute.invoke", { ...invoke, thread: t }, "thread");
      for (const d of [-1, 1.5, "soon", null]) expectField("compute.invoke", { ...invoke, deadline: d }, "deadline");
      expectField("compute.create", { ...create, thread: undefined }, "thread");
    });

    it("should refuse a creation with a bad class name, version or home", () => {
      for (const c of [undefined, 7, "C".repeat(129)]) expectField("compute.create", { ...create, className: c }, "className");
      for (const v of [0, -1, 1.5, "2", null]) expectField("compute.create", { ...create, classVersion: v }, "classVersion");
      for (const h of ["DS1", "", "sys:ds1", 1, null]) expectField("compute.create", { ...create, home: h }, "home");
    });

    it("should refuse a recall with a bad segment, page, version, epoch or action", () => {
      const kind = "compute.recall";
      for (const segment of [undefined, "RectA", 7]) expectField(kind, { ...recallBody, segment }, "segment");
      for (const page of [-1, 1.5, "0", undefined, 2 ** 31 + 1]) expectField(kind, { ...recallBody, page }, "page");
      for (const version of [-1, 0.5, "3", undefined]) expectField(kind, { ...recallBody, version }, "version");
      for (const epoch of [undefined, -1, 0.5, "3"]) expectField(kind, { ...recallBody, epoch }, "epoch");
      for (const action of [undefined, "drop", "INVALIDATE", 1]) expectField(kind, { ...recallBody, action }, "action");
    });

    it("should decode a wound of an atomic thread, and refuse a bad id, object or reason", () => {
      const wound = { id: "t:ws-1:01J0000000000000000000000D", object: target, reason: "an older atomic thread waits for it" };
      expect(decodeComputeRequest("compute.atomic.wound", wound)).to.deep.equal({ kind: "compute.atomic.wound", ...wound });
      const kind = "compute.atomic.wound";
      for (const id of [undefined, "", "has space", 7, "x".repeat(201)]) expectField(kind, { ...wound, id }, "id");
      for (const object of [undefined, "RectA"]) expectField(kind, { ...wound, object }, "object");
      for (const reason of [undefined, 3, "r".repeat(201)]) expectField(kind, { ...wound, reason }, "reason");
    });

    it("should refuse a pages query with bad or too many segments, naming the index", () => {
      expectField("compute.pages", { segments: "all" }, "segments");
      expectField("compute.pages", { segments: new Array(17).fill(seg) }, "segments");
      expectField("compute.pages", { segments: [seg, "RectA"] }, "value", "compute.pages segments[1]");
    });

    it("should refuse a probe with an unknown op or bad fields", () => {
      const kind = "compute.probe";
      expectField(kind, { op: "format", segment: seg, page: 0 }, "op");
      expectField(kind, { op: "fault", segment: seg, page: 0, mode: "exec" }, "mode");
      expectField(kind, { op: "fault", segment: "x", page: 0, mode: "read" }, "segment");
      expectField(kind, { op: "drop", segment: seg, page: -1 }, "page");
      for (const byte of [256, -1, 1.5]) expectField(kind, { op: "fill", segment: seg, page: 0, byte }, "byte");
      expectField(kind, { op: "echo", home: "DS1", size: 1 }, "home");
      expectField(kind, { op: "echo", home: "ds1", size: 1024 * 1024 + 1 }, "size");
    });

    it("should decode frame reports of each shape, and refuse bad ones naming the report and field", () => {
      const frame = { thread, key: "cs1/4", server: "cs1", depth: 1, object: target, entry: "run", since: 1_700_000_000_000, state: "running" };
      const reports = [frame, { thread, key: "cs1/4", ended: true }, { thread, parent: newThreadId("ws-1") }];
      expect(decodeComputeRequest("workstation.frames", { reports })).to.deep.equal({ kind: "workstation.frames", reports });
      expectField("workstation.frames", { reports: "x" }, "reports");
      expectField("workstation.frames", { reports: new Array(501).fill(frame) }, "reports");
      expectField("workstation.frames", { reports: [{ ...frame, object: "nope" }] }, "object", "workstation.frames reports[0]");
      expectField("workstation.frames", { reports: [frame, { ...frame, entry: "a b" }] }, "entry", "workstation.frames reports[1]");
      expectField("workstation.frames", { reports: [{ thread, key: "k", ended: false }] }, "ended", "workstation.frames reports[0]");
      expectField("workstation.frames", { reports: [{ ...frame, depth: -1 }] }, "depth", "workstation.frames reports[0]");
    });

    it("should refuse an unknown kind with UnknownMessageError", () => {
      for (const kind of ["compute.destroy", "compute.invalidate", "data.page.fault", "", "compute.invoke "]) {
        let thrown: unknown;
        try {
          decodeComputeRequest(kind, {});
        } catch (err) {
          thrown = err;
        }
        expect(thrown, kind).to.be.instanceOf(UnknownMessageError);
        expect((thrown as UnknownMessageError).kind).to.equal(kind);
        expect((thrown as Error).message).to.contain(`'${kind}'`);
      }
    });
  });

  describe("load reports (compute.load, compute.subscribe, compute.decisions)", () => {
    const load = { running: 1, waiting: 0, queued: 0, workers: 2, lagMs: 0.5, cpu: 0.25, cachedPages: 10 };
    const report = { server: "cs1", address: "127.0.0.1:7001", incarnation: 1_700_000_000_000, seq: 3, load, warm: [{ object: target, pages: 2 }], members: [{ id: "cs2", address: "127.0.0.1:7002" }] };

    it("should decode a pushed report", () => {
      expect(decodeComputeRequest("compute.load", { report })).to.deep.equal({ kind: "compute.load", report });
    });

    it("should decode a subscription and a decisions query with and without a thread", () => {
      expect(decodeComputeRequest("compute.subscribe", {})).to.deep.equal({ kind: "compute.subscribe" });
      expect(decodeComputeRequest("compute.decisions", {})).to.deep.equal({ kind: "compute.decisions", thread: undefined, limit: undefined });
      expect(decodeComputeRequest("compute.decisions", { thread, limit: 5 })).to.deep.equal({ kind: "compute.decisions", thread, limit: 5 });
    });

    it("should refuse a report that is missing or not an object", () => {
      expectField("compute.load", {}, "report");
      expectField("compute.load", { report: [1] }, "report");
    });

    it("should refuse a report with a bad server, address, incarnation or seq", () => {
      expectField("compute.load", { report: { ...report, server: "not a server" } }, "server", "compute.load report");
      expectField("compute.load", { report: { ...report, address: "x".repeat(300) } }, "address", "compute.load report");
      expectField("compute.load", { report: { ...report, incarnation: -1 } }, "incarnation", "compute.load report");
      expectField("compute.load", { report: { ...report, seq: 1.5 } }, "seq", "compute.load report");
    });

    it("should refuse a load with negative, non-finite or missing figures", () => {
      expectField("compute.load", { report: { ...report, load: { ...load, running: -1 } } }, "running", "compute.load report load");
      expectField("compute.load", { report: { ...report, load: { ...load, lagMs: Infinity } } }, "lagMs", "compute.load report load");
      expectField("compute.load", { report: { ...report, load: { ...load, cpu: "1" } } }, "cpu", "compute.load report load");
      expectField("compute.load", { report: { ...report, load: { ...load, workers: 0 } } }, "workers", "compute.load report load");
      expectField("compute.load", { report: { ...report, load: null } }, "load", "compute.load report");
    });

    it("should refuse more than 64 warm objects or members, and bad items, naming the index", () => {
      const many = Array.from({ length: 65 }, () => ({ object: target, pages: 1 }));
      expectField("compute.load", { report: { ...report, warm: many } }, "warm", "compute.load report");
      expectField("compute.load", { report: { ...report, warm: [{ object: "x", pages: 1 }] } }, "object", "compute.load report warm[0]");
      expectField("compute.load", { report: { ...report, warm: [{ object: target, pages: -2 }] } }, "pages", "compute.load report warm[0]");
      const members = Array.from({ length: 65 }, (_, i) => ({ id: `cs${i}`, address: "a" }));
      expectField("compute.load", { report: { ...report, members } }, "members", "compute.load report");
      expectField("compute.load", { report: { ...report, members: [report.members[0], { id: 5, address: "a" }] } }, "id", "compute.load report members[1]");
    });

    it("should refuse a decisions query with a bad thread or limit", () => {
      expectField("compute.decisions", { thread: 5 }, "thread");
      expectField("compute.decisions", { limit: 0 }, "limit");
    });
  });
});
