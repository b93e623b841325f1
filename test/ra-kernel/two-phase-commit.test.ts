/**
 * Tests of the two-phase commit coordinator (ra-kernel/two-phase-commit.ts) over fake homes:
 * who is prepared, who commits with the decision, who is told what, in which order — for the
 * commit, a refused prepare, a prepare with no answer, a log home that refuses (a presumed
 * abort came first), a log home whose reply is lost (then its decision is asked), and one
 * that never answers (outcome unknown, nobody told anything).
 */
import { expect } from "chai";
import { asAtomicId, asServerId, type ServerId } from "../../ra-kernel/ids.js";
import { commitTwoPhase, type Coordination, type HomePart } from "../../ra-kernel/two-phase-commit.js";
import { CommitOutcomeUnknownError, PagesLostError } from "../../ra-kernel/errors.js";
import type { DecisionReply } from "../../ra-kernel/home-link.js";
import { expectRejection } from "../support/expect-rejection.js";

const THREAD = asAtomicId("t:ws1:7");

/** A home's part that records what it is asked, answering as told. */
class FakePart implements HomePart {
  readonly calls: string[];
  prepared: boolean | Error = true;
  committed: boolean | Error = true;

  constructor(readonly home: ServerId, readonly pages: number, journal: string[]) {
    this.calls = journal;
  }

  async prepare(logHome: ServerId) {
    this.calls.push(`${this.home} prepare (log home ${logHome})`);
    if (this.prepared instanceof Error) throw this.prepared;
    return { prepared: this.prepared, epoch: 1, ...(this.prepared ? {} : { reason: "fenced" }) };
  }

  async commit() {
    this.calls.push(`${this.home} commit`);
    if (this.committed instanceof Error) throw this.committed;
    return { applied: this.committed, epoch: 1 };
  }

  async abort() {
    this.calls.push(`${this.home} abort`);
  }

  async finish(outcome: "commit" | "abort") {
    this.calls.push(`${this.home} finish ${outcome}`);
  }
}

describe("commitTwoPhase", () => {
  let journal: string[];
  let decisions: DecisionReply[];
  let recorded: string[];

  const parts = (...pages: number[]) => pages.map((n, i) => new FakePart(asServerId(`ds${i + 1}`), n, journal));
  const coordination = (over: Partial<Coordination> = {}): Coordination => ({
    thread: THREAD, attempt: 2,
    decide: async (home, req) => {
      journal.push(`${home} decide ${req.outcome} attempt ${req.attempt}`);
      const d = decisions.shift();
      if (!d) throw new Error("no answer");
      return d;
    },
    acknowledge: async (home, id) => void journal.push(`${home} acknowledge ${id}`),
    notApplied: (home, why) => new PagesLostError(`not applied (${home}): ${why}`, { server: home, pages: 0 }),
    record: (outcome) => void recorded.push(outcome),
    decideTimeoutMs: 300,
    ...over,
  });

  beforeEach(() => {
    journal = [];
    decisions = [];
    recorded = [];
  });

  it("should prepare every home but the one with most pages, commit that one with the decision, then finish the others and acknowledge", async () => {
    await commitTwoPhase(parts(1, 3, 2), coordination());
    await new Promise((resolve) => setImmediate(resolve));
    expect(journal).to.deep.equal([
      "ds1 prepare (log home ds2)", "ds3 prepare (log home ds2)",
      "ds2 commit",
      "ds1 finish commit", "ds3 finish commit",
      "ds2 acknowledge t:ws1:7",
    ]);
    expect(recorded).to.deep.equal(["commit"]);
  });

  it("should decide nothing when a home refuses to prepare: every part aborted, applied nowhere", async () => {
    const p = parts(2, 1, 1);
    p[2].prepared = false;
    const err = await expectRejection(commitTwoPhase(p, coordination()), PagesLostError);
    expect(err.message).to.include("could not be prepared (fenced)").and.include("ds3");
    expect(journal.slice(0, 2)).to.deep.equal(["ds2 prepare (log home ds1)", "ds3 prepare (log home ds1)"]);
    expect(journal.slice(2).sort()).to.deep.equal(["ds1 abort", "ds2 finish abort", "ds3 finish abort"]);
    expect(recorded).to.deep.equal(["abort"]);
  });

  it("should abort everywhere when a prepare gets no answer (presumed abort: nothing is decided)", async () => {
    const p = parts(2, 1);
    p[1].prepared = new Error("connection closed");
    await expectRejection(commitTwoPhase(p, coordination()), PagesLostError);
    expect(journal).to.not.include("ds1 commit");
    expect(journal).to.include("ds2 finish abort").and.include("ds1 abort");
  });

  it("should tell the prepared homes to abort when the log home refuses its part (a presumed abort came first)", async () => {
    const p = parts(2, 1);
    p[0].committed = false;
    const err = await expectRejection(commitTwoPhase(p, coordination()), PagesLostError);
    expect(err.message).to.include("log home ds1 refused");
    expect(journal).to.deep.equal(["ds2 prepare (log home ds1)", "ds1 commit", "ds2 finish abort"]);
  });

  it("should ask the log home for the decision when its commit's reply is lost, and finish the others as it says", async () => {
    const p = parts(2, 1);
    p[0].committed = new Error("connection closed");
    decisions.push({ outcome: "commit", attempt: 2 });
    await commitTwoPhase(p, coordination());
    expect(journal.slice(0, 4)).to.deep.equal(["ds2 prepare (log home ds1)", "ds1 commit", "ds1 decide abort attempt 2", "ds2 finish commit"]);
  });

  it("should read a commit of another attempt as an abort of this one", async () => {
    const p = parts(2, 1);
    p[0].committed = new Error("connection closed");
    decisions.push({ outcome: "commit", attempt: 1 });
    await expectRejection(commitTwoPhase(p, coordination()), PagesLostError);
    expect(journal).to.include("ds2 finish abort");
  });

  it("should report an unknown outcome, telling nobody anything, when the log home never answers", async () => {
    const p = parts(2, 1);
    p[0].committed = new Error("connection closed");
    const err = await expectRejection(commitTwoPhase(p, coordination()), CommitOutcomeUnknownError);
    expect(err.message).to.include("committed everywhere or nowhere");
    expect(journal.filter((j) => j.includes("finish"))).to.deep.equal([]);
    expect(journal.filter((j) => j.includes("decide")).length).to.be.greaterThan(1);
    expect(recorded).to.deep.equal(["unknown"]);
  });
});
