/**
 * Tests of AtomicParticipants (servers/data/atomic-participants.ts) as DataServer wires it: the
 * two-phase commit of an atomic thread that wrote at two data servers, driven by hand as its
 * coordinator (ra-kernel/two-phase-commit.ts) would — prepare at every home but the log home,
 * commit the log home's part with the decision (`twoPhase`), then finish the others — and what
 * a participant does when that order breaks: its coordinator dies before or after the decision,
 * it restarts while prepared, its log home cannot be reached, an abort overtakes its prepare, or
 * no outcome comes at all.
 *
 * ds1 is the log home, ds2 the participant, each a DataServer over its own InMemorySegmentStore;
 * ds2 reaches ds1 through a LogHomeLink (ds1's handler, as seen from a peer "ds2"), which a test
 * can cut or hold. The compute server "cs1" (the coordinator) is a FakePeer attached to both,
 * answering every recall "held, no bytes"; "cs2" is a reader. Each test checks the pages stored,
 * the prepared records (`listPrepared`), the decision at the log home (`data.atomic.outcome`)
 * and the participant's `counts`.
 */
import { expect } from "chai";
import { DataServer, type DataServerOptions } from "../../../servers/data/data-server.js";
import { InMemorySegmentStore } from "../../../servers/data/in-memory-segment-store.js";
import { DataClient, type PageGrant } from "../../../servers/data/protocol.js";
import type { DecisionRecord } from "../../../servers/data/atomic-decisions.js";
import { asServerId, type ServerId, type SysName } from "../../../ra-kernel/ids.js";
import type { ObjectDescriptor } from "../../../ra-kernel/object-descriptor.js";
import { BadRequestError, ServerUnreachableError } from "../../../servers/transport/errors.js";
import type { RequestOptions } from "../../../servers/transport/transport.js";
import { FakePeer } from "../../support/fake-peer.js";
import { deferred, isPending, type Deferred } from "../../support/deferred.js";
import { decoded, logOf } from "../../support/page-logs.js";
import { until } from "../../support/until.js";

const DS1 = asServerId("ds1");
const DS2 = asServerId("ds2");
/** Attempt 0 of atomic thread T: its id is the thread's (attemptId), its decision is stored under it. */
const T = "t:ws1:1";

/** A compute server as a data server sees it: answers every recall "held, no bytes". */
function computePeer(id: string): FakePeer {
  const peer = new FakePeer(id);
  peer.reply = { held: true, bytes: null, stamp: 0, dirty: false };
  return peer;
}

/**
 * ds2's connection to its log home ds1: requests run ds1's handler with a peer "ds2". `down`:
 * every request fails as to an unreachable server; `held`: requests wait until it resolves.
 */
class LogHomeLink extends FakePeer {
  down = false;
  held: Deferred<void> | null = null;
  /** Requests sent so far (reached ds1 or not). */
  asked = 0;
  private readonly asSeenByLogHome = new FakePeer("ds2");

  constructor(private readonly logHome: () => DataServer) {
    super("ds1", "memory:ds1");
  }

  override async request<T = unknown>(kind: string, body: unknown, _options?: RequestOptions): Promise<T> {
    this.asked++;
    if (this.held) await this.held.promise;
    if (this.down) throw new ServerUnreachableError("ds1 cannot be reached (test)", { peer: "ds1", address: this.address });
    const reply = await this.logHome().handler(kind, structuredClone(body), { peer: this.asSeenByLogHome, clock: 1 });
    return structuredClone(reply) as T;
  }
}

describe("AtomicParticipants", () => {
  let store1: InMemorySegmentStore;
  let store2: InMemorySegmentStore;
  let ds1: DataServer;
  let ds2: DataServer;
  let link: LogHomeLink;
  let cs1: FakePeer;
  let cs2: FakePeer;
  let seg1: SysName;
  let seg2: SysName;
  let obj2: SysName;
  /** Every DataServer built, closed after each test. */
  let servers: DataServer[];

  /** The words attempt 0 writes at each home, and the pages they make of zeros. */
  const log1 = logOf([0, 0x11111111, 1], [64, 0x1234, 1]);
  const log2 = logOf([0, 0x22222222, 1], [128, 0xbeef, 1]);
  const page1 = decoded(log1).page;
  const page2 = decoded(log2).page;

  const call = (ds: DataServer, peer: FakePeer, kind: string, body: unknown) => ds.handler(kind, body, { peer, clock: 1 });
  const fault = (ds: DataServer, peer: FakePeer, segment: SysName, mode: "read" | "write") =>
    call(ds, peer, "data.page.fault", { segment, page: 0, mode, have: 0 }) as Promise<PageGrant>;
  const outcome = async (id = T) => ((await call(ds1, cs1, "data.atomic.outcome", { id })) as { decision: DecisionRecord | null }).decision;
  const recallsOf = (peer: FakePeer, action: string) => peer.sent.filter((s) => s.kind === "compute.recall" && (s.body as { action: string }).action === action);

  /** A DataServer "ds2" over `store`, reaching ds1 through the link; tracked for afterEach. */
  function participant(store: InMemorySegmentStore, options: DataServerOptions = {}): DataServer {
    const ds = new DataServer(store, DS2, { dataServer: async (id: ServerId) => { expect(id).to.equal(DS1); return new DataClient(link); }, ...options });
    servers.push(ds);
    return ds;
  }

  /** The coordinator's prepare of its part at ds2 (attempt `attempt`, id `id`). */
  const prepare = (id = T, attempt = 0, extra: Record<string, unknown> = {}) =>
    call(ds2, cs1, "data.atomic.prepare", {
      id, attempt, logHome: "ds1", epoch: 1, term: ds2.home.leases.term("cs1"),
      pages: [{ segment: seg2, page: 0, log: log2, left: 0 }], ...extra,
    }) as Promise<{ prepared: boolean; epoch: number; reason?: string }>;

  /** The log home's part, committed with the decision (`twoPhase`): THE commit point. */
  const commitAtLogHome = (attempt = 0, log = log1) =>
    call(ds1, cs1, "data.page.commit", {
      epoch: 1, term: ds1.home.leases.term("cs1"), abort: false, atomic: T, attempt, twoPhase: true,
      pages: [{ segment: seg1, page: 0, log, left: 0 }],
    }) as Promise<{ applied: boolean; epoch: number; reason?: string }>;

  const finish = (outcome: "commit" | "abort", id = T) =>
    call(ds2, cs1, "data.atomic.finish", { id, outcome }) as Promise<{ finished: boolean; refused?: number }>;

  /** Resolves once ds2 holds no prepared part (in memory nor in its store). */
  const partsEnded = (ds = ds2, store = store2) =>
    until(() => ds.participants.size === 0 && store.listPrepared().length === 0, 5000, "every prepared part finished");

  const counts = (c: Partial<DataServer["participants"]["counts"]>) => ({ prepared: 0, refused: 0, committed: 0, aborted: 0, resolved: 0, inDoubt: 0, ...c });

  async function createObject(ds: DataServer): Promise<ObjectDescriptor> {
    await call(ds, cs1, "data.class.register", { name: "Account", code: "", entries: [], sourceFile: "a.ts", sourceHash: "h1" });
    return (await call(ds, cs1, "data.object.create", { className: "Account", classVersion: 1 })) as ObjectDescriptor;
  }

  beforeEach(async () => {
    servers = [];
    store1 = new InMemorySegmentStore({ serverId: DS1 });
    store2 = new InMemorySegmentStore({ serverId: DS2 });
    ds1 = new DataServer(store1, DS1);
    servers.push(ds1);
    link = new LogHomeLink(() => ds1);
    ds2 = participant(store2);
    cs1 = computePeer("cs1");
    cs2 = computePeer("cs2");
    for (const ds of [ds1, ds2]) {
      ds.attach(cs1);
      ds.attach(cs2);
    }
    seg1 = (await createObject(ds1)).segments.data;
    const o2 = await createObject(ds2);
    seg2 = o2.segments.data;
    obj2 = o2.sysname;
    // The atomic thread's writes: page 0 of each object, owned by cs1.
    await fault(ds1, cs1, seg1, "write");
    await fault(ds2, cs1, seg2, "write");
  });

  afterEach(async () => {
    link.held?.resolve();
    for (const ds of servers) ds.close();
    await store1.close();
    await store2.close();
  });

  it("should store a prepared part without applying it, and apply it on the coordinator's commit", async () => {
    expect(await prepare()).to.deep.equal({ prepared: true, epoch: 1 });
    expect(store2.readPage(seg2, 0).bytes, "not applied before the decision").to.equal(null);
    const [record] = store2.listPrepared();
    expect(record).to.deep.include({ id: T, attempt: 0, writer: "cs1", logHome: "ds1" });
    expect(record.pages.map((p) => ({ segment: p.segment, page: p.page, log: Buffer.from(p.log).equals(Buffer.from(log2)) }))).to.deep.equal([{ segment: seg2, page: 0, log: true }]);
    expect(ds2.participants.partsOf(obj2)).to.deep.equal([{ id: T }]);

    expect(await commitAtLogHome()).to.deep.equal({ applied: true, epoch: 1 });
    expect(store1.readPage(seg1, 0).bytes).to.deep.equal(page1);
    expect(await outcome()).to.deep.include({ id: T, outcome: "commit", attempt: 0, proposer: "cs1", acknowledged: false });

    expect(await finish("commit")).to.deep.equal({ finished: true });
    expect(store2.readPage(seg2, 0).bytes).to.deep.equal(page2);
    expect(store2.listPrepared()).to.deep.equal([]);
    expect(ds2.participants.size).to.equal(0);
    expect(await finish("commit"), "a second finish finds nothing").to.deep.equal({ finished: false });
    expect(await call(ds1, cs1, "data.atomic.acknowledge", { id: T })).to.deep.equal({ acknowledged: true });
    expect(ds2.participants.counts).to.deep.equal(counts({ prepared: 1, committed: 1 }));
    expect(link.asked, "nobody asked the log home").to.equal(0);
  });

  it("should revert a prepared part the coordinator aborts, and forget it", async () => {
    expect(await prepare()).to.deep.include({ prepared: true });
    const aborted = await finish("abort");
    expect(aborted.finished).to.equal(true);
    expect(store2.readPage(seg2, 0).bytes).to.equal(null);
    expect(store2.listPrepared()).to.deep.equal([]);
    expect(recallsOf(cs1, "revert").map((s) => (s.body as { segment: string }).segment), "cs1's words taken out of its page").to.deep.equal([seg2]);
    expect(ds2.participants.counts).to.deep.equal(counts({ prepared: 1, aborted: 1 }));
    expect(await outcome(), "nothing decided at the log home").to.equal(null);
  });

  it("should presume an abort when its coordinator dies before the decision, and refuse that attempt's late commit at the log home", async () => {
    expect(await prepare()).to.deep.include({ prepared: true });
    ds2.home.dropHolder("cs1");
    await partsEnded();
    expect(store2.readPage(seg2, 0).bytes).to.equal(null);
    expect(ds2.participants.counts).to.deep.equal(counts({ prepared: 1, inDoubt: 1, aborted: 1, resolved: 1 }));
    expect(await outcome()).to.deep.include({ outcome: "abort", attempt: 0, proposer: "ds2" });

    const late = await commitAtLogHome();
    expect(late.applied, "attempt 0's commit after the presumed abort").to.equal(false);
    expect(late.reason).to.match(/decided before its commit arrived \(abort\)/);
    expect(store1.readPage(seg1, 0).bytes).to.equal(null);

    // The thread runs again (attempt 1): an abort of attempt 0 gives way to it.
    const log1b = logOf([0, 0x33333333, 2]);
    await fault(ds1, cs1, seg1, "write");
    expect(await commitAtLogHome(1, log1b)).to.deep.include({ applied: true });
    expect(store1.readPage(seg1, 0).bytes).to.deep.equal(decoded(log1b).page);
    expect(await outcome()).to.deep.include({ outcome: "commit", attempt: 1, proposer: "cs1" });
  });

  it("should apply its part when its coordinator dies after the log home committed", async () => {
    expect(await prepare()).to.deep.include({ prepared: true });
    expect(await commitAtLogHome()).to.deep.include({ applied: true });
    ds2.home.dropHolder("cs1");
    await partsEnded();
    expect(store2.readPage(seg2, 0).bytes).to.deep.equal(page2);
    expect(store2.listPrepared()).to.deep.equal([]);
    expect(ds2.participants.counts).to.deep.equal(counts({ prepared: 1, inDoubt: 1, committed: 1, resolved: 1 }));
    expect((await fault(ds2, cs2, seg2, "read")).bytes, "the coherent image has the part's words too").to.deep.equal(page2);
    expect(await outcome(), "the decision is kept until acknowledged").to.deep.include({ outcome: "commit", attempt: 0, acknowledged: false });
  });

  it("should resolve a part prepared before a restart, and serve no fault of its object until it is applied", async () => {
    expect(await prepare()).to.deep.include({ prepared: true });
    expect(await commitAtLogHome()).to.deep.include({ applied: true });
    // ds2 restarts over the same store (InMemorySegmentStore has no reopen: its epoch stays 1).
    ds2.close();
    link.held = deferred<void>();
    ds2 = participant(store2);
    ds2.attach(cs2);
    const read = fault(ds2, cs2, seg2, "read");
    expect(ds2.participants.partsOf(obj2)).to.have.length(1);
    expect(ds2.participants.partsOf(obj2)[0].doubt).to.match(/restarted/);
    await until(() => link.asked > 0, 5000, "the restarted participant asks its log home");
    expect(await isPending(read), "a read while the part is in doubt waits").to.equal(true);
    expect(store2.listPrepared()).to.have.length(1);

    link.held.resolve();
    expect((await read).bytes, "the read waited for the part's words").to.deep.equal(page2);
    await partsEnded();
    expect(store2.readPage(seg2, 0).bytes).to.deep.equal(page2);
    expect(ds2.participants.counts).to.deep.equal(counts({ inDoubt: 1, committed: 1, resolved: 1 }));
  });

  it("should stay prepared while its log home cannot be reached, and resolve once it can", async () => {
    expect(await prepare()).to.deep.include({ prepared: true });
    expect(await commitAtLogHome()).to.deep.include({ applied: true });
    link.down = true;
    ds2.home.dropHolder("cs1");
    await until(() => link.asked >= 2, 5000, "the participant asked its log home twice");
    expect(store2.listPrepared().map((r) => r.id), "the record is kept").to.deep.equal([T]);
    expect(ds2.participants.partsOf(obj2)[0].doubt).to.match(/coordinator cs1 was dropped/);
    const read = fault(ds2, cs2, seg2, "read");
    expect(await isPending(read), "a fault of its object waits").to.equal(true);
    expect(store2.readPage(seg2, 0).bytes).to.equal(null);

    link.down = false;
    await partsEnded();
    expect((await read).bytes).to.deep.equal(page2);
    expect(store2.readPage(seg2, 0).bytes).to.deep.equal(page2);
    expect(ds2.participants.counts).to.deep.equal(counts({ prepared: 1, inDoubt: 1, committed: 1, resolved: 1 }));
  });

  it("should refuse a prepare whose abort arrived first", async () => {
    expect(await finish("abort")).to.deep.equal({ finished: false });
    const refused = await prepare();
    expect(refused.prepared).to.equal(false);
    expect(refused.reason).to.match(/aborted by its coordinator before it was prepared here/);
    expect(store2.listPrepared()).to.deep.equal([]);
    expect(store2.readPage(seg2, 0).bytes).to.equal(null);
    expect(ds2.participants.size).to.equal(0);
    expect(ds2.participants.counts).to.deep.equal(counts({ refused: 1, aborted: 1 }));
  });

  // protocol.ts: "prepared false is a refusal (as a commit's), its pages reverted": a refused
  // prepare answers once its writer was told to abort what wrote its pages ("revert"), so it
  // never runs the thread again over the aborted words still in its copies.
  it("should revert the pages of a prepare refused because its abort arrived first, as of any refused prepare", async () => {
    const stale = await prepare("t:ws1:0", 0, { term: 0 });
    expect(stale.reason, "a prepare refused for its lease term").to.match(/lease term 0/);
    expect(recallsOf(cs1, "revert"), "is reverted").to.have.length(1);
    await fault(ds2, cs1, seg2, "write");

    expect(await finish("abort")).to.deep.equal({ finished: false });
    expect(await prepare()).to.deep.include({ prepared: false });
    expect(recallsOf(cs1, "revert"), "a prepare refused for an early abort is reverted too").to.have.length(2);
  });

  it("should ask its log home by itself when no outcome comes within doubtAfterMs", async () => {
    ds2.close();
    ds2 = participant(store2, { doubtAfterMs: 50 });
    ds2.attach(cs1);
    await fault(ds2, cs1, seg2, "write");
    expect(await prepare()).to.deep.include({ prepared: true });
    await partsEnded();
    expect(ds2.participants.counts).to.deep.equal(counts({ prepared: 1, inDoubt: 1, aborted: 1, resolved: 1 }));
    expect(store2.readPage(seg2, 0).bytes).to.equal(null);
    expect(await outcome(), "presumed abort").to.deep.include({ outcome: "abort", attempt: 0, proposer: "ds2" });
    expect(recallsOf(cs1, "revert"), "its coordinator's words taken out").to.have.length(1);
    expect(await finish("abort"), "the coordinator's late abort finds nothing").to.deep.equal({ finished: false });
  });

  it("should refuse a malformed prepare or finish with an error naming the field, and keep serving", async () => {
    const good = { id: T, attempt: 0, logHome: "ds1", epoch: 1, term: 1, pages: [{ segment: seg2, page: 0, log: log2, left: 0 }] };
    const { logHome: _l, ...noLogHome } = good;
    const { attempt: _a, ...noAttempt } = good;
    const { pages: _p, ...noPages } = good;
    const bad = [
      ["data.atomic.prepare", noLogHome, "logHome"],
      ["data.atomic.prepare", { ...good, logHome: "Not A Server!" }, "logHome"],
      ["data.atomic.prepare", { ...good, logHome: 7 }, "logHome"],
      ["data.atomic.prepare", noAttempt, "attempt"],
      ["data.atomic.prepare", { ...good, attempt: -1 }, "attempt"],
      ["data.atomic.prepare", noPages, "pages"],
      ["data.atomic.prepare", { ...good, id: "has space" }, "id"],
      ["data.atomic.prepare", { ...good, pages: [{ segment: seg2, page: 0, log: log2 }] }, "left"],
      ["data.atomic.finish", { id: T, outcome: "maybe" }, "outcome"],
      ["data.atomic.finish", { outcome: "abort" }, "id"],
    ] as const;
    for (const [kind, body, field] of bad) {
      try {
        await call(ds2, cs1, kind, body);
        expect.fail(`${kind} ${JSON.stringify(body).slice(0, 80)} should have been refused`);
      } catch (err) {
        expect(err, `${kind} ${field}`).to.be.instanceOf(BadRequestError);
        expect((err as BadRequestError).field, `${kind} ${field}: ${(err as Error).message}`).to.equal(field);
      }
    }
    expect(store2.listPrepared()).to.deep.equal([]);
    expect(ds2.participants.counts).to.deep.equal(counts({}));
    expect(await prepare(), "a good prepare after them").to.deep.equal({ prepared: true, epoch: 1 });
    expect(await finish("abort")).to.deep.include({ finished: true });
  });
});
