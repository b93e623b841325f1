import { expect } from "chai";
import { CallLog } from "./call-log.js";
import { judge } from "./ledger-verdict.js";
import type { LedgerCheck } from "../fixtures/ledger.js";
import { CloudsError } from "../../ra-kernel/clouds-error.js";

const HEALTHY = { ok: true, violations: [], leakedBlocks: 0, lostAllocations: 0, lostFrees: 0, unlistedFreeBlocks: 0, liveBlocks: 10, freeBlocks: 2 };

function named(name: string, message = "boom"): CloudsError {
  const err = new CloudsError(message);
  err.name = name;
  return err;
}

describe("LedgerVerdict", () => {
  let log: CallLog;

  beforeEach(() => {
    log = new CallLog();
  });

  function call(client: number, seq: number, kind: "add" | "append", outcome: "ack" | string, object = 0): void {
    const c = { client, seq, object, kind, startedMs: 0 };
    if (outcome === "ack") log.ack(c, seq);
    else log.fail(c, named(outcome));
  }

  function check(items: number[][], own: number[][] = [[], []], extra: Partial<LedgerCheck> = {}): LedgerCheck {
    return { violations: [], heap: HEALTHY, items, own, ...extra };
  }

  function violationsOf(c: LedgerCheck): string[] {
    return judge([{ label: "T0", object: 0, check: c }], log, 2).violations;
  }

  it("should pass when every acknowledged update is there once, in order", () => {
    call(0, 1, "add", "ack");
    call(1, 1, "add", "ack");
    call(0, 2, "append", "ack");
    call(0, 3, "add", "ack");
    expect(violationsOf(check([[0, 1], [1, 1], [0, 3]], [[2], []]))).to.deep.equal([]);
  });

  it("should name an acknowledged update that is missing", () => {
    call(0, 1, "add", "ack");
    call(1, 1, "append", "ack");
    const v = violationsOf(check([], [[], []]));
    expect(v).to.have.length(2);
    expect(v[0]).to.match(/^T0\.items: acknowledged add\(0, 1\) .*is missing/);
    expect(v[1]).to.match(/^T0\.own\[1\]: acknowledged append\(1, 1\) .*is missing/);
  });

  it("should name an update found twice, or one that no client sent to this object", () => {
    call(0, 1, "add", "ack");
    call(0, 2, "add", "ack", 1);
    const v = violationsOf(check([[0, 1], [0, 1], [0, 2]]));
    expect(v.some((x) => /add\(0, 1\) is there twice \(at 0 and 1\)/.test(x))).to.equal(true);
    expect(v.some((x) => /holds add\(0, 2\) at 2, which no client sent to this object/.test(x))).to.equal(true);
  });

  it("should allow a failed update of unknown outcome either way, and count which", () => {
    call(0, 1, "add", "ServerUnreachableError");
    call(0, 2, "add", "ServerUnreachableError");
    call(0, 3, "add", "ack");
    const verdict = judge([{ label: "T0", object: 0, check: check([[0, 1], [0, 3]]) }], log, 2);
    expect(verdict.violations).to.deep.equal([]);
    expect(verdict.ambiguous.get("ServerUnreachableError")).to.deep.equal({ applied: 1, notApplied: 1 });
  });

  it("should refuse a failed update whose error says its writes were lost", () => {
    call(0, 1, "append", "PagesLostError");
    expect(violationsOf(check([], [[1], []]))[0]).to.match(/^T0\.own\[0\]: append\(0, 1\) .*failed with PagesLostError \(its writes lost, it says\) but is there/);
  });

  it("should refuse an acknowledged update found after a later one of its client, but not a failed one", () => {
    call(0, 1, "add", "ack");
    call(0, 2, "add", "ack");
    expect(violationsOf(check([[0, 2], [0, 1]]))[0]).to.match(/acknowledged add\(0, 1\) is at 1, after add\(0, 2\)/);
    log = new CallLog();
    call(0, 1, "add", "RequestTimeoutError");
    call(0, 2, "add", "ack");
    expect(violationsOf(check([[0, 2], [0, 1]]))).to.deep.equal([]);
  });

  it("should pass on what the object found itself, its heap's findings, and a check that failed", () => {
    const c = check([], [[], []], { violations: ["n is 3 but items holds 2"], heap: { ...HEALTHY, ok: false, violations: ["block 160 reached twice"] } });
    expect(violationsOf(c)).to.deep.equal(["T0: n is 3 but items holds 2", "T0 heap: block 160 reached twice"]);
    expect(judge([{ label: "T1", object: 1, error: "TypeError: x (8 tries)" }], log, 2).violations).to.deep.equal(["T1: check() failed: TypeError: x (8 tries)"]);
  });

  it("should not compare what the object could not read (its own violations say why)", () => {
    call(0, 1, "add", "ack");
    call(1, 1, "append", "ack");
    call(1, 2, "append", "ack");
    call(0, 3, "append", "ack");
    const c = check([], [], { items: null, own: [null, [2]], violations: ["checking items threw StaleViewError: gone"] });
    expect(violationsOf(c)).to.deep.equal(["T0: checking items threw StaleViewError: gone", "T0.own[1]: acknowledged append(1, 1) (sent t=0.0s), returned 1, is missing"]);
  });
});
