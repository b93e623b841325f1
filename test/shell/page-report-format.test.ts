/**
 * Tests of how `pages NAME` prints a PageReport (shell/page-report-format.ts).
 */
import { expect } from "chai";
import { formatPageReport } from "../../shell/page-report-format.js";
import type { PageReport } from "../../shell/client/cluster.js";
import type { ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import { asServerId, asSysName } from "../../ra-kernel/ids.js";

const DATA = asSysName("sys:ds1:01JD0000000000000000000001");
const HEAP = asSysName("sys:ds1:01JD0000000000000000000002");
const VOL = asSysName("sys:ds1:01JD0000000000000000000003");

function report(overrides: Partial<PageReport> = {}): PageReport {
  const descriptor: ObjectDescriptor = {
    sysname: asSysName("sys:ds1:01JD0000000000000000000000"), className: "Rectangle", classVersion: 1, home: asServerId("ds1"),
    segments: { data: DATA, heap: HEAP, volatile: VOL }, createdAt: 0,
  };
  return {
    descriptor, epoch: 3, locks: [],
    pages: [
      { segment: DATA, page: 0, version: 7, owner: "cs1", copyset: ["cs1"], storedVersion: 6 },
      { segment: HEAP, page: 12, version: 3, owner: null, copyset: ["cs1", "cs2"], storedVersion: 3 },
    ],
    cached: new Map<string, PageReport["cached"] extends Map<string, infer V> ? V : never>([
      ["cs2", [{ segment: HEAP, page: 12, state: "read", version: 3, owned: false, workingSet: false }]],
      ["cs1", [{ segment: DATA, page: 0, state: "write", version: 7, owned: true, workingSet: true }, { segment: HEAP, page: 12, state: "read", version: 3, owned: false, workingSet: false }]],
    ]),
    ...overrides,
  };
}

describe("formatPageReport", () => {
  it("should print one row per page with owner, copyset, versions and each compute server's copy", () => {
    const lines = formatPageReport(report(), { all: true });
    expect(lines[0]).to.equal("home ds1 (epoch 3): 2 pages served");
    expect(lines[1].split(/\s+/)).to.deep.equal(["segment", "page", "version", "owner", "copyset", "stored", "cs1", "cs2"]);
    expect(lines[2].split(/\s{2,}/)).to.deep.equal(["data", "0", "7", "cs1", "cs1", "6", "write v7+", "-"]);
    expect(lines[3].split(/\s{2,}/)).to.deep.equal(["heap", "12", "3", "-", "cs1,cs2", "3", "read v3", "read v3"]);
    expect(lines[4]).to.equal("working set (pages used in the last window, +): cs1 1, cs2 0");
    expect(lines[5]).to.equal("locks: none");
  });

  it("should say which compute servers could not be asked", () => {
    const cached = report().cached;
    cached.set("cs2", new Error("connect ECONNREFUSED"));
    const lines = formatPageReport(report({ cached }), { all: true });
    expect(lines[3]).to.match(/read v3\s+\?$/);
    expect(lines).to.include("  cs2: not reachable (connect ECONNREFUSED)");
  });

  it("should name an atomic thread holding the object's monitor", () => {
    const lines = formatPageReport(report({
      locks: [{ object: DATA, key: "monitor", kind: "monitor", available: 0, holders: [{ server: "cs2", thread: "t:ws1:X", count: 1, atomic: true }], waiting: [] }],
    }));
    expect(lines.slice(-1)).to.deep.equal(["  monitor 'monitor': held by atomic thread t:ws1:X@cs2"]);
  });

  it("should list the object's locks with holders and waiters", () => {
    const lines = formatPageReport(report({
      locks: [
        { object: DATA, key: "monitor", kind: "monitor", available: 0, holders: [{ server: "cs1", thread: "t1", count: 2 }], waiting: [{ server: "cs2", thread: "t2" }] },
        { object: DATA, key: "slots", kind: "semaphore", available: 1, holders: [], waiting: [] },
      ],
    }));
    expect(lines.slice(-3)).to.deep.equal([
      "locks:",
      "  monitor 'monitor': held by t1@cs1 x2, 1 waiting",
      "  semaphore 'slots': 1 permit(s) left",
    ]);
  });

  it("should summarize runs of consecutive pages alike, with their ranges of versions, by default", () => {
    const pages = [
      ...Array.from({ length: 12_800 }, (_, i) => ({ segment: HEAP, page: i, version: i === 5 ? 2 : 1, owner: null, copyset: ["cs1"], storedVersion: 1 })),
      { segment: HEAP, page: 12_800, version: 4, owner: "cs2", copyset: ["cs2"], storedVersion: 3 },
      { segment: DATA, page: 0, version: 7, owner: "cs1", copyset: ["cs1"], storedVersion: 7 },
    ];
    const cached = new Map<string, PageReport["cached"] extends Map<string, infer V> ? V : never>([
      ["cs1", [...pages.slice(0, 12_800).map((p) => ({ segment: p.segment, page: p.page, state: "read" as const, version: p.version, owned: false, workingSet: true })),
        { segment: DATA, page: 0, state: "write" as const, version: 7, owned: true, workingSet: false }]],
      ["cs2", [{ segment: HEAP, page: 12_800, state: "write" as const, version: 4, owned: true, workingSet: true }]],
    ]);
    const lines = formatPageReport(report({ pages, cached }));
    expect(lines[0]).to.equal("home ds1 (epoch 3): 12802 pages served, in 3 runs of pages alike (pages --all: one row per page)");
    expect(lines[1].split(/\s+/)).to.deep.equal(["segment", "pages", "versions", "owner", "copyset", "stored", "cs1", "cs2"]);
    expect(lines.slice(2, 5).map((l) => l.split(/\s{2,}/))).to.deep.equal([
      ["heap", "0-12799 (12800)", "1..2", "-", "cs1", "1", "read+", "-"],
      ["heap", "12800", "4", "cs2", "cs2", "3", "-", "write+"],
      ["data", "0", "7", "cs1", "cs1", "7", "write", "-"],
    ]);
    expect(formatPageReport(report({ pages, cached }), { all: true })).to.have.length.above(12_800);
  });
});
