import { expect } from "chai";
import { asAtomicId, asServerId } from "../../../ra-kernel/ids.js";
import { AtomicDecisions, type DecisionRecord, type DecisionStore } from "../../../servers/data/atomic-decisions.js";
import { InMemorySegmentStore } from "../../../servers/data/in-memory-segment-store.js";

const T = asAtomicId("t:ws1:01J0000000000000000000000A");
const CS1 = asServerId("cs1");
const CS2 = asServerId("cs2");

/** A store whose puts wait until released, to hold a decision "in flight". */
class GatedStore implements DecisionStore {
  readonly inner = new InMemorySegmentStore();
  puts = 0;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  async putDecision(record: DecisionRecord): Promise<DecisionRecord> {
    this.puts++;
    await this.gate;
    return this.inner.putDecision(record);
  }

  getDecision(id: DecisionRecord["id"]) {
    return this.inner.getDecision(id);
  }

  acknowledgeDecision(id: DecisionRecord["id"]) {
    return this.inner.acknowledgeDecision(id);
  }

  forgetDecisions(before: number) {
    return this.inner.forgetDecisions(before);
  }
}

describe("AtomicDecisions", () => {
  it("should store the first decision proposed and answer it to every later proposal", async () => {
    const decisions = new AtomicDecisions(new InMemorySegmentStore(), 1000, () => 42);
    expect(decisions.outcome(T)).to.equal(null);
    expect(await decisions.decide(T, "commit", CS1, 0)).to.deep.equal({ id: T, outcome: "commit", proposer: CS1, decidedAt: 42, acknowledged: false, attempt: 0 });
    expect((await decisions.decide(T, "abort", CS2)).outcome).to.equal("commit");
    expect(decisions.outcome(T)?.outcome).to.equal("commit");
    expect(decisions.counts).to.deep.equal({ commit: 1, abort: 0, contested: 1 });
  });

  it("should let a presumed abort win over a proposer that comes too late", async () => {
    const decisions = new AtomicDecisions(new InMemorySegmentStore());
    expect((await decisions.decide(T, "abort", CS2)).outcome).to.equal("abort");
    expect((await decisions.decide(T, "commit", CS1, 3)).outcome).to.equal("abort");
  });

  it("should let a participant's abort of one attempt give way to a later attempt's commit, and no abort undo a commit", async () => {
    const decisions = new AtomicDecisions(new InMemorySegmentStore());
    expect(await decisions.decide(T, "abort", "ds2", 0)).to.include({ outcome: "abort", attempt: 0 });
    expect(decisions.beginCommit(T, 0), "attempt 0 was aborted: its segment is refused").to.equal(false);
    expect(await decisions.decide(T, "commit", CS1, 1)).to.include({ outcome: "commit", attempt: 1 });
    const late = await decisions.decide(T, "abort", "ds2", 0);
    expect(late, "a participant of attempt 0 asking late learns attempt 1 committed, not its own").to.include({ outcome: "commit", attempt: 1 });
    expect((await decisions.decide(T, "abort", CS2)).outcome, "a workstation's presumed abort of every attempt").to.equal("commit");
  });

  it("should answer nobody, not even outcome(), before the decision is durable, and serialize a second proposal behind it", async () => {
    const store = new GatedStore();
    const decisions = new AtomicDecisions(store);
    store.hold();
    const first = decisions.decide(T, "commit", CS1);
    const second = decisions.decide(T, "abort", CS2);
    let settled = 0;
    void first.then(() => settled++);
    void second.then(() => settled++);
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).to.equal(0);
    expect(decisions.outcome(T)).to.equal(null);
    store.release();
    const [a, b] = await Promise.all([first, second]);
    expect([a.outcome, b.outcome]).to.deep.equal(["commit", "commit"]);
    expect(store.puts).to.equal(1); // the second found the first stored: no second write
  });

  it("should hold a presumed abort while a one-segment commit carrying the decision is in flight, then answer what it stored", async () => {
    const store = new InMemorySegmentStore();
    const decisions = new AtomicDecisions(store);
    expect(decisions.beginCommit(T, 0)).to.equal(true);
    expect(decisions.beginCommit(T, 0), "one commit of a thread at a time").to.equal(false);
    const abort = decisions.decide(T, "abort", CS2);
    await new Promise((resolve) => setImmediate(resolve));
    await store.commitPages([], { id: T, outcome: "commit", proposer: CS1, decidedAt: 1, acknowledged: false, attempt: 0 }); // the segment's transaction
    decisions.endCommit(T, true);
    expect((await abort).outcome).to.equal("commit");
    expect(decisions.counts.commit).to.equal(1);
    const other = asAtomicId("t:ws1:refused");
    await decisions.decide(other, "abort", CS2);
    expect(decisions.beginCommit(other, 0), "decided before: its segment is refused").to.equal(false);
  });

  it("should forget acknowledged decisions only once past the retention", async () => {
    let now = 1000;
    const decisions = new AtomicDecisions(new InMemorySegmentStore(), 500, () => now);
    const open = asAtomicId("t:ws1:open");
    await decisions.decide(T, "commit", CS1);
    await decisions.decide(open, "commit", CS1);
    expect(await decisions.acknowledge(T)).to.equal(true);
    now = 1400;
    expect(await decisions.collect()).to.equal(0);
    now = 1600;
    expect(await decisions.collect()).to.equal(1);
    expect(decisions.outcome(T)).to.equal(null);
    expect(decisions.outcome(open)?.outcome).to.equal("commit"); // unacknowledged: kept
  });
});
