/**
 * Tests of the placement policies (servers/placement/working-set-placement.ts,
 * uniform-random-placement.ts) over synthetic load tables: hint > stay-warm > warm >
 * two-choices, the overload threshold, hot exclusive objects staying put, slow servers
 * getting less work, and the uniform baseline.
 */
import { expect } from "chai";
import { newSysName, type ServerId } from "../../../ra-kernel/ids.js";
import { WorkingSetPlacement } from "../../../servers/placement/working-set-placement.js";
import { UniformRandomPlacement } from "../../../servers/placement/uniform-random-placement.js";
import type { Candidate, WarmSighting } from "../../../servers/placement/load-table.js";
import type { PlacementInput, PlacementPolicy } from "../../../servers/placement/placement-policy.js";
import { IDLE_LOAD, type ServerLoad } from "../../../servers/placement/load-report.js";
import { rng } from "../../support/rng.js";

/** A seeded random in [0, 1), as policies take it. */
function seeded(seed: number): () => number {
  const r = rng(seed);
  return () => r(1_000_000) / 1_000_000;
}

const object = newSysName("ds1" as ServerId);

function load(extra: Partial<ServerLoad> = {}): ServerLoad {
  return { ...IDLE_LOAD, workers: 2, ...extra };
}

function cand(id: string, l: Partial<ServerLoad> | undefined = {}, inflight = 0): Candidate {
  return { id: id as ServerId, address: `a-${id}`, load: l === undefined ? undefined : load(l), inflight };
}

function warm(server: string, pages: number, ageMs = 0): WarmSighting {
  return { server: server as ServerId, pages, ageMs };
}

function counts(policy: PlacementPolicy, input: PlacementInput, n = 2000): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const d = policy.place(input);
    m.set(d.server, (m.get(d.server) ?? 0) + 1);
  }
  return m;
}

describe("WorkingSetPlacement", () => {
  let policy: WorkingSetPlacement;
  const three = [cand("cs1"), cand("cs2"), cand("cs3")];

  beforeEach(() => {
    policy = new WorkingSetPlacement({}, seeded(7));
  });

  it("should obey a hint whatever the loads and working sets", () => {
    const d = policy.place({ request: { object, hint: "cs3" as ServerId, here: "cs1" as ServerId }, candidates: [cand("cs1"), cand("cs3", { running: 99 })], warm: [warm("cs1", 9)] });
    expect(d).to.deep.equal({ server: "cs3", reason: "hint" });
  });

  it("should stay where the caller is when the object is warm here and here is under the threshold", () => {
    const d = policy.place({ request: { object, here: "cs1" as ServerId }, candidates: three, warm: [warm("cs2", 5, 1), warm("cs1", 3, 50)] });
    expect(d).to.include({ server: "cs1", reason: "stay-warm" });
  });

  it("should not stay when here is over the threshold, going where it is warm elsewhere", () => {
    const candidates = [cand("cs1", { running: 10 }), cand("cs2"), cand("cs3")];
    const d = policy.place({ request: { object, here: "cs1" as ServerId }, candidates, warm: [warm("cs1", 3), warm("cs2", 5, 40)] });
    expect(d).to.include({ server: "cs2", reason: "warm" });
  });

  it("should go to the first warm server of the table's order (largest working set, then most recent)", () => {
    const d = policy.place({ request: { object }, candidates: three, warm: [warm("cs2", 8, 300), warm("cs3", 1, 5)] });
    expect(d).to.include({ server: "cs2", reason: "warm" });
  });

  it("should keep a hot exclusive object on its server however many callers wait for its monitor", () => {
    // 31 invocations queued for the monitor, one isiba running: not overloaded.
    const candidates = [cand("cs1", { running: 1, waiting: 31 }, 32), cand("cs2"), cand("cs3"), cand("cs4")];
    const m = counts(policy, { request: { object }, candidates, warm: [warm("cs1", 2)] });
    expect([...m]).to.deep.equal([["cs1", 2000]]);
  });

  it("should skip a warm server over the threshold and choose by load, saying why", () => {
    const candidates = [cand("cs1", { running: 6 }), cand("cs2", { running: 0 }), cand("cs3", { running: 3 })];
    const d = policy.place({ request: { object }, candidates, warm: [warm("cs1", 4)] });
    expect(d.reason).to.equal("two-choices");
    expect(d.server).to.not.equal("cs1");
    expect(d.detail).to.contain("warm on cs1").and.to.contain("over 2 or 1.5 above 0.00");
  });

  it("should leave a warm server that is well above the lightest one, under the threshold", () => {
    const candidates = [cand("cs1", { running: 4 }), cand("cs2", { running: 0 })];
    const d = policy.place({ request: { object }, candidates, warm: [warm("cs1", 4)] });
    expect(d).to.include({ server: "cs2", reason: "two-choices" });
    const close = [cand("cs1", { running: 4 }), cand("cs2", { running: 2 })];
    expect(policy.place({ request: { object }, candidates: close, warm: [warm("cs1", 4)] })).to.include({ server: "cs1", reason: "warm" });
  });

  it("should keep warm objects where they are when every server is over the threshold and none is much lighter", () => {
    const candidates = [cand("cs1", { running: 16 }), cand("cs2", { running: 14 })];
    const m = counts(policy, { request: { object }, candidates, warm: [warm("cs1", 4)] });
    expect([...m], "moving only adds page and monitor trips").to.deep.equal([["cs1", 2000]]);
  });

  it("should count event-loop lag toward the threshold", () => {
    const candidates = [cand("cs1", { lagMs: 150 }), cand("cs2")];
    expect(policy.place({ request: { object }, candidates, warm: [warm("cs1", 4)] }).server).to.equal("cs2");
  });

  it("should follow its options: a higher threshold keeps a busy warm server", () => {
    const lenient = new WorkingSetPlacement({ overloadThreshold: 10, imbalanceMargin: 10 }, seeded(1));
    const candidates = [cand("cs1", { running: 6 }), cand("cs2")];
    expect(lenient.place({ request: { object }, candidates, warm: [warm("cs1", 4)] })).to.include({ server: "cs1", reason: "warm" });
  });

  it("should ignore sightings on servers that are not candidates (dead or unknown)", () => {
    const d = policy.place({ request: { object }, candidates: [cand("cs2")], warm: [warm("cs1", 4)] });
    expect(d).to.include({ server: "cs2", reason: "two-choices" });
  });

  it("should place a creation (no object) on the lighter of two random servers", () => {
    const candidates = [cand("cs1", { running: 8 }), cand("cs2", { running: 0 })];
    const m = counts(policy, { request: {}, candidates, warm: [] });
    expect([...m]).to.deep.equal([["cs2", 2000]]);
  });

  it("should send less work to a server that got slow (lag, running isibas)", () => {
    const candidates = [cand("cs1", { running: 4, lagMs: 40 }), cand("cs2", { running: 1 }), cand("cs3", { running: 1 })];
    const m = counts(policy, { request: { object }, candidates, warm: [] });
    expect(m.get("cs1") ?? 0).to.be.below(100);
    expect(m.get("cs2")).to.be.above(700);
    expect(m.get("cs3")).to.be.above(700);
  });

  it("should count this caller's calls in flight when loads are equal (join the shorter queue)", () => {
    const candidates = [cand("cs1", {}, 5), cand("cs2", {}, 1)];
    expect([...counts(policy, { request: { object }, candidates, warm: [] })]).to.deep.equal([["cs2", 2000]]);
  });

  it("should spread work evenly over equally loaded servers", () => {
    const m = counts(policy, { request: { object }, candidates: three, warm: [] }, 3000);
    for (const id of ["cs1", "cs2", "cs3"]) expect(m.get(id)).to.be.within(800, 1200);
  });

  it("should treat a server with no fresh load as idle", () => {
    const candidates = [cand("cs1", undefined), cand("cs2", { running: 3 })];
    expect([...counts(policy, { request: {}, candidates, warm: [] })]).to.deep.equal([["cs1", 2000]]);
  });

  it("should pick the only candidate", () => {
    expect(policy.place({ request: { object }, candidates: [cand("cs2", { running: 50 })], warm: [] })).to.include({ server: "cs2", reason: "two-choices" });
  });
});

describe("UniformRandomPlacement", () => {
  it("should obey a hint", () => {
    expect(new UniformRandomPlacement().place({ request: { hint: "cs2" as ServerId }, candidates: [cand("cs1")], warm: [] })).to.deep.equal({ server: "cs2", reason: "hint" });
  });

  it("should spread work uniformly whatever the loads and working sets", () => {
    const policy = new UniformRandomPlacement(seeded(3));
    const candidates = [cand("cs1", { running: 50 }), cand("cs2")];
    const m = counts(policy, { request: { object }, candidates, warm: [warm("cs2", 9)] });
    expect(m.get("cs1")).to.be.within(850, 1150);
    expect(policy.place({ request: { object }, candidates, warm: [] }).reason).to.equal("random");
  });
});
