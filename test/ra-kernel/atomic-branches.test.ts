/**
 * Tests of AtomicBranches (ra-kernel/atomic-branches.ts) over a fake kernel and link: a branch
 * joins its coordinator once (frames arriving together share the join), a refused join fails
 * the frame and a late frame of an ended branch is refused; prepare votes no for a wounded
 * branch (its writes reverted); finish commits or aborts and ends it; a wound is forwarded to
 * the coordinator; an orphan — its coordinator's connection closed, or no outcome after
 * prepare — aborts (once its running frame ended), or asks the log home until it answers.
 */
import { expect } from "chai";
import { asAtomicId, asServerId, type AtomicId, type ServerId } from "../../ra-kernel/ids.js";
import { AtomicBranches, type BranchHost, type BranchLink } from "../../ra-kernel/atomic-branches.js";
import { AtomicUnits } from "../../ra-kernel/atomic-units.js";
import { AtomicAbortedError } from "../../ra-kernel/errors.js";
import { deferred, isPending } from "../support/deferred.js";
import { expectRejection } from "../support/expect-rejection.js";
import { until } from "../support/until.js";

const T = asAtomicId("t:ws1:9#1");
const BASE = asAtomicId("t:ws1:9");
const CS1 = asServerId("cs1");
const DS1 = asServerId("ds1");

/** A link recording what it is asked; joins answer `joins`, the log home `answers` (an Error: unreachable). */
class FakeLink implements BranchLink {
  readonly journal: string[] = [];
  joins = true;
  answers: ("commit" | "abort" | Error)[] = [];
  private readonly gone = new Map<ServerId, () => void>();
  joinGate = deferred<void>();

  constructor() {
    this.joinGate.resolve();
  }

  async join(coordinator: ServerId, id: AtomicId): Promise<boolean> {
    this.journal.push(`join ${coordinator} ${id}`);
    await this.joinGate.promise;
    return this.joins;
  }
  async wounded(coordinator: ServerId, id: AtomicId, reason: string): Promise<void> {
    this.journal.push(`wounded ${coordinator} ${id}: ${reason}`);
  }
  async prepare(): Promise<{ prepared: boolean }> {
    throw new Error("a branch never prepares another");
  }
  async finish(): Promise<{ finished: boolean }> {
    throw new Error("a branch never finishes another");
  }
  watch(server: ServerId, gone: () => void): () => void {
    this.gone.set(server, gone);
    return () => this.gone.delete(server);
  }
  async askLogHome(logHome: ServerId, thread: AtomicId, attempt: number): Promise<"commit" | "abort"> {
    this.journal.push(`ask ${logHome} ${thread} attempt ${attempt}`);
    const a = this.answers.shift() ?? new Error("no answer");
    if (a instanceof Error) throw a;
    return a;
  }
  /** The connection to `server` closes. */
  close(server: ServerId): void {
    this.gone.get(server)?.();
  }
}

describe("AtomicBranches", () => {
  let units: AtomicUnits;
  let link: FakeLink;
  let journal: string[];
  let prepareVote: { prepared: boolean; reason?: string };

  const host = (): BranchHost => ({
    units,
    dropMark: () => 0,
    prepare: async (unit, thread, attempt, logHome) => {
      journal.push(`prepare ${unit.ctx.id} as ${thread}#${attempt} log ${logHome}`);
      return { ...prepareVote, finish: async (outcome) => void journal.push(`parts ${outcome}`) };
    },
    abort: async (unit, reason) => void journal.push(`abort writes: ${reason}`),
    end: async (unit, committed) => {
      journal.push(`end ${committed ? "committed" : "aborted"}`);
      units.end(unit);
    },
  });
  const ctx = { id: T, since: 1, coordinator: CS1 };

  beforeEach(() => {
    units = new AtomicUnits();
    link = new FakeLink();
    journal = [];
    prepareVote = { prepared: true };
  });

  it("should join the coordinator once for frames that arrive together, and watch it", async () => {
    const branches = new AtomicBranches(host(), link);
    link.joinGate = deferred<void>();
    const [a, b] = [branches.branchOf(ctx), branches.branchOf(ctx)];
    expect(await isPending(a)).to.equal(true);
    link.joinGate.resolve();
    const [ua, ub] = await Promise.all([a, b]);
    expect(ua).to.equal(ub);
    expect(link.journal).to.deep.equal([`join cs1 ${T}`]);
    expect(branches.counts.begun).to.equal(1);
  });

  it("should fail the frame with AtomicAbortedError when the coordinator refuses the join, and refuse a late frame after", async () => {
    const branches = new AtomicBranches(host(), link);
    link.joins = false;
    const err = await expectRejection(branches.branchOf(ctx), AtomicAbortedError);
    expect(err.message).to.include("no longer running it");
    expect(units.get(T)).to.equal(undefined);
    link.joins = true;
    expect((await expectRejection(branches.branchOf(ctx), AtomicAbortedError)).message).to.include("ended here already");
  });

  it("should forward a wound to the coordinator", async () => {
    const branches = new AtomicBranches(host(), link);
    const unit = await branches.branchOf(ctx);
    unit.wound("an older thread needs b");
    await new Promise((resolve) => setImmediate(resolve));
    expect(link.journal).to.include(`wounded cs1 ${T}: an older thread needs b`);
  });

  it("should vote no for a wounded branch, its writes reverted and the branch ended", async () => {
    const branches = new AtomicBranches(host(), link);
    const unit = await branches.branchOf(ctx);
    unit.wounded = "wounded at ds1";
    expect(await branches.prepare({ id: T, thread: BASE, attempt: 1, logHome: DS1 })).to.deep.equal({ prepared: false, reason: "wounded at ds1" });
    expect(journal).to.deep.equal(["abort writes: wounded at ds1", "end aborted"]);
    expect(await branches.finish({ id: T, outcome: "abort" })).to.deep.equal({ finished: false });
  });

  it("should prepare its writes, then apply them on the commit and end", async () => {
    const branches = new AtomicBranches(host(), link);
    await branches.branchOf(ctx);
    expect(await branches.prepare({ id: T, thread: BASE, attempt: 1, logHome: DS1 })).to.deep.equal({ prepared: true });
    expect(await branches.finish({ id: T, outcome: "commit" })).to.deep.equal({ finished: true });
    expect(journal).to.deep.equal([`prepare ${T} as ${BASE}#1 log ds1`, "parts commit", "end committed"]);
    expect(branches.counts).to.include({ prepared: 1, committed: 1 });
  });

  it("should end a branch whose parts could not be prepared, voting no", async () => {
    const branches = new AtomicBranches(host(), link);
    await branches.branchOf(ctx);
    prepareVote = { prepared: false, reason: "its part at ds2 could not be prepared (fenced)" };
    expect(await branches.prepare({ id: T, thread: BASE, attempt: 1, logHome: DS1 })).to.deep.equal(prepareVote);
    expect(journal.slice(1)).to.deep.equal(["end aborted"]);
  });

  it("should abort an unprepared orphan once its running frame ended", async () => {
    const branches = new AtomicBranches(host(), link);
    const unit = await branches.branchOf(ctx);
    const frameEnds = unit.frameRuns();
    link.close(CS1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(journal, "nothing before its frame ends").to.deep.equal([]);
    frameEnds();
    await until(() => journal.length === 2, 2000, "the orphan aborted");
    expect(journal[0]).to.match(/^abort writes: the connection to its coordinator cs1 closed/);
    expect(journal[1]).to.equal("end aborted");
  });

  it("should ask the log home for a prepared orphan's outcome until it answers, and finish with it", async () => {
    const branches = new AtomicBranches(host(), link);
    await branches.branchOf(ctx);
    await branches.prepare({ id: T, thread: BASE, attempt: 1, logHome: DS1 });
    link.answers = [new Error("ds1 is down"), "commit"];
    link.close(CS1);
    await until(() => journal.includes("end committed"), 5000, "the orphan finished");
    expect(link.journal.filter((j) => j.startsWith("ask"))).to.deep.equal([`ask ds1 ${BASE} attempt 1`, `ask ds1 ${BASE} attempt 1`]);
    expect(journal.slice(1)).to.deep.equal(["parts commit", "end committed"]);
    expect(branches.counts).to.include({ orphaned: 1, committed: 1 });
  });

  it("should resolve a prepared branch that hears no outcome within orphanAfterMs", async () => {
    const branches = new AtomicBranches(host(), link, 30);
    await branches.branchOf(ctx);
    await branches.prepare({ id: T, thread: BASE, attempt: 1, logHome: DS1 });
    link.answers = ["abort"];
    await until(() => journal.includes("end aborted"), 5000, "the silent coordinator's branch resolved");
    expect(journal.slice(1)).to.deep.equal(["parts abort", "end aborted"]);
  });

  it("should not resolve twice when the coordinator's finish and the orphan race", async () => {
    const branches = new AtomicBranches(host(), link);
    await branches.branchOf(ctx);
    await branches.prepare({ id: T, thread: BASE, attempt: 1, logHome: DS1 });
    link.answers = ["commit"];
    link.close(CS1);
    await branches.finish({ id: T, outcome: "commit" });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(journal.filter((j) => j.startsWith("parts"))).to.deep.equal(["parts commit"]);
    expect(journal.filter((j) => j.startsWith("end"))).to.deep.equal(["end committed"]);
  });
});

