/**
 * Tests of DropNotices (ra-kernel/drop-notices.ts): evicted read copies are told to their
 * homes in one message per home and turn; a page faulted again before its notice left has
 * the notice cancelled, and one faulted while its notice is on its way waits for the answer
 * (the home must never take a new copy for the dropped one).
 */
import { expect } from "chai";
import { newSysName, type ServerId } from "../../ra-kernel/ids.js";
import { DropNotices } from "../../ra-kernel/drop-notices.js";
import type { DropRequest } from "../../ra-kernel/home-link.js";
import { deferred, type Deferred } from "../support/deferred.js";

const ds1 = "ds1" as ServerId;
const ds2 = "ds2" as ServerId;

describe("DropNotices", () => {
  const seg1 = newSysName(ds1);
  const seg2 = newSysName(ds2);
  let sent: { home: ServerId; req: DropRequest; answer: Deferred<unknown> }[];
  let notices: DropNotices;

  beforeEach(() => {
    sent = [];
    notices = new DropNotices((home, req) => {
      const answer = deferred<unknown>();
      sent.push({ home, req, answer });
      return answer.promise;
    });
  });

  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it("should send one message per home and epoch at the end of the turn", async () => {
    notices.add(ds1, 1, seg1, 0, 3);
    notices.add(ds1, 1, seg1, 4, 7);
    notices.add(ds2, 5, seg2, 2, 2);
    notices.add(ds1, 2, seg1, 9, 1);
    expect(sent, "nothing before the turn ends").to.deep.equal([]);
    await turn();
    const summary = sent.map(({ home, req }) => [home, req.epoch, req.pages.map((p) => `${p.page}@${p.version}`)]);
    expect(summary).to.deep.equal([[ds1, 1, ["0@3", "4@7"]], [ds2, 5, ["2@2"]], [ds1, 2, ["9@1"]]]);
    expect(notices.sent).to.equal(4);
  });

  it("should cancel the notice of a page faulted again before it left", async () => {
    notices.add(ds1, 1, seg1, 0, 3);
    notices.add(ds1, 1, seg1, 1, 3);
    expect(notices.before(seg1, 0), "nothing to wait for").to.equal(undefined);
    await turn();
    expect(sent.map(({ req }) => req.pages.map((p) => p.page))).to.deep.equal([[1]]);
  });

  it("should make a fault of a page whose notice is on its way wait for the home's answer", async () => {
    notices.add(ds1, 1, seg1, 0, 3);
    await turn();
    const waiting = notices.before(seg1, 0);
    expect(waiting).to.not.equal(undefined);
    let done = false;
    void waiting!.then(() => (done = true));
    await turn();
    expect(done, "not before the home answered").to.equal(false);
    sent[0].answer.resolve({ dropped: 1 });
    await waiting;
    expect(notices.before(seg1, 0), "answered: nothing left to wait for").to.equal(undefined);
  });

  it("should let the fault go on when the notice failed (the home drops our copies itself then)", async () => {
    notices.add(ds1, 1, seg1, 0, 3);
    await turn();
    const waiting = notices.before(seg1, 0)!;
    sent[0].answer.reject(new Error("connection closed"));
    await waiting;
    expect(notices.before(seg1, 0)).to.equal(undefined);
  });

  it("should keep only the newest notice of a page queued twice", async () => {
    notices.add(ds1, 1, seg1, 0, 3);
    notices.add(ds1, 1, seg1, 0, 5);
    const drained = notices.drained();
    expect(sent.map(({ req }) => req.pages)).to.deep.equal([[{ segment: seg1, page: 0, version: 5 }]]);
    sent[0].answer.resolve({ dropped: 1 });
    await drained;
  });
});
