/**
 * Tests of HomeLeases (servers/compute/home-leases.ts): a compute server renews its lease with
 * every home it is connected to, every leaseMs / 8, and gives a home's pages up (`expired`)
 * when its lease ran out or the home revoked it (a new term).
 *
 * HomeLeases ticks on a real timer; the homes announce short leases (the period follows them)
 * so these tests are quick. They wait for its calls (events), never for a guessed time.
 */
import { expect } from "chai";
import type { ServerId } from "../../../ra-kernel/ids.js";
import { HomeLeases, type LeaseHolder } from "../../../servers/compute/home-leases.js";

const [ds0, ds1] = ["ds0", "ds1"] as ServerId[];

interface Answer {
  epoch: number;
  leaseMs: number;
  term: number;
}

/** The compute server's side of HomeLeases, recorded; `when(cond)` waits for a call that makes cond true. */
class FakeHomes implements LeaseHolder {
  connected: ServerId[] = [];
  readonly renewals: ServerId[] = [];
  readonly expiredHomes: { home: ServerId; why: string }[] = [];
  /** How each home answers a renewal (default: epoch 1, a 400 ms lease, term 1). */
  answer: (home: ServerId) => Promise<Answer> = async () => ({ epoch: 1, leaseMs: 400, term: 1 });
  private waiters: Array<() => void> = [];

  homes(): ServerId[] {
    return [...this.connected];
  }

  renew(home: ServerId): Promise<Answer> {
    this.renewals.push(home);
    const answer = this.answer(home);
    void answer.catch(() => undefined).finally(() => setImmediate(() => this.wake()));
    return answer;
  }

  expired(home: ServerId, why: string): void {
    this.expiredHomes.push({ home, why });
    this.wake();
  }

  /** Resolves once `cond` holds, checked after every call and every answered renewal. */
  when(cond: () => boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = (): void => (cond() ? resolve() : void this.waiters.push(check));
      check();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

describe("HomeLeases", function () {
  this.timeout(10_000);
  let homes: FakeHomes;
  let leases: HomeLeases;

  beforeEach(() => {
    homes = new FakeHomes();
    leases = new HomeLeases(homes);
  });

  afterEach(() => leases.stop());

  const renewalsOf = (home: ServerId) => homes.renewals.filter((h) => h === home).length;

  it("should renew with every connected home, and with no other", async () => {
    homes.connected = [ds0];
    leases.start();
    await homes.when(() => renewalsOf(ds0) >= 3);
    expect(renewalsOf(ds1)).to.equal(0);
    homes.connected = [ds0, ds1];
    await homes.when(() => renewalsOf(ds1) >= 2);
    expect(homes.expiredHomes).to.deep.equal([]);
  });

  it("should keep its lease running from the renewals' send times while they are answered", async () => {
    homes.connected = [ds0];
    leases.began(ds0, performance.now() - 2_500); // a connection opened a while ago: its first lease ends soon
    leases.start();
    await homes.when(() => renewalsOf(ds0) >= 12);
    // 12 renewals at 50 ms each is longer than the 400 ms lease: renewals kept it alive.
    expect(homes.expiredHomes).to.deep.equal([]);
    expect(leases.endsAt(ds0)! - performance.now()).to.be.within(0, 400);
  });

  it("should give a home's pages up once renewals stop being answered and the lease ran out", async () => {
    homes.connected = [ds0];
    leases.start();
    await homes.when(() => renewalsOf(ds0) >= 2);
    const lastOk = performance.now();
    homes.answer = () => Promise.reject(new Error("LeaseRevokedError: no"));
    await homes.when(() => homes.expiredHomes.length > 0);
    expect(performance.now() - lastOk).to.be.at.least(300);
    expect(homes.expiredHomes[0]).to.deep.equal({ home: ds0, why: "our lease with it ran out" });
  });

  it("should give a home's pages up when the home answers with a new term (it revoked our lease)", async () => {
    homes.connected = [ds0];
    leases.start();
    await homes.when(() => renewalsOf(ds0) >= 2);
    homes.answer = async () => ({ epoch: 1, leaseMs: 400, term: 2 });
    await homes.when(() => homes.expiredHomes.length > 0);
    expect(homes.expiredHomes[0].why).to.equal("it revoked our lease (term 1 -> 2)");
    const after = renewalsOf(ds0);
    await homes.when(() => renewalsOf(ds0) >= after + 3);
    expect(homes.expiredHomes).to.have.length(1);
  });

  it("should renew as often as the lease length the homes announce requires", async () => {
    homes.connected = [ds0];
    leases.start();
    await homes.when(() => renewalsOf(ds0) >= 1); // the first tick is at the default 3 s / 8
    const since = performance.now();
    const first = renewalsOf(ds0);
    await homes.when(() => renewalsOf(ds0) >= first + 5);
    // Five more renewals at 400 / 8 = 50 ms, not at 375 ms.
    expect(performance.now() - since).to.be.below(5 * 375);
    expect(homes.expiredHomes).to.deep.equal([]);
  });

  it("should start a fresh lease for a fresh connection", async () => {
    const openedAt = performance.now() - 100;
    leases.began(ds1, openedAt);
    expect(leases.endsAt(ds1)).to.equal(openedAt + 3_000);
    leases.forget(ds1);
    expect(leases.endsAt(ds1)).to.equal(undefined);
  });
});
