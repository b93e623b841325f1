/**
 * Tests of HolderLeases (servers/data/holder-leases.ts): the home's view of how long a compute
 * server may still use its pages — renewed, measured, awaited, forgotten.
 */
import { expect } from "chai";
import { HolderLeases, LEASE_MS } from "../../../servers/data/holder-leases.js";
import { isPending } from "../../support/deferred.js";

describe("HolderLeases", () => {
  it("should default to LEASE_MS (3 s)", () => {
    expect(LEASE_MS).to.equal(3000);
    expect(new HolderLeases().leaseMs).to.equal(LEASE_MS);
  });

  it("should give no time left to a holder that never renewed", () => {
    expect(new HolderLeases(1000).remainingMs("cs1")).to.equal(0);
  });

  it("should give a full lease from each renewal, running down with time", async () => {
    const leases = new HolderLeases(1000);
    leases.renew("cs1");
    const first = leases.remainingMs("cs1");
    expect(first).to.be.within(990 + leases.marginMs, 1000 + leases.marginMs);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(leases.remainingMs("cs1")).to.be.below(first - 15);
    leases.renew("cs1");
    expect(leases.remainingMs("cs1")).to.be.within(990 + leases.marginMs, 1000 + leases.marginMs);
    expect(leases.remainingMs("cs2"), "leases are per holder").to.equal(0);
  });

  it("should resolve `expired` at once for a holder without a lease", async () => {
    const leases = new HolderLeases(60_000);
    expect(await isPending(leases.expired("cs1"))).to.equal(false);
  });

  it("should resolve `expired` once the lease has run out, not before", async () => {
    const leases = new HolderLeases(60);
    leases.renew("cs1");
    const started = performance.now();
    const expired = leases.expired("cs1");
    expect(await isPending(expired)).to.equal(true);
    await expired;
    expect(performance.now() - started).to.be.at.least(59);
    expect(leases.remainingMs("cs1")).to.equal(0);
  });

  it("should stop waiting for a term that was revoked meanwhile, though the holder renews the new one", async () => {
    const leases = new HolderLeases(40);
    leases.renew("cs1");
    const term = leases.term("cs1");
    leases.suspect("cs1");
    const waiting = leases.expired("cs1", term);
    const renewing = setInterval(() => leases.renew("cs1"), 5); // refused until the revoke, then accepted
    try {
      leases.revoke("cs1"); // another wait took its pages back first
      await waiting; // without the term, it would wait as long as cs1 renews
      expect(leases.term("cs1")).to.equal(term + 1);
      expect(leases.remainingMs("cs1"), "the new term's lease is alive").to.be.above(0);
    } finally {
      clearInterval(renewing);
    }
  });

  it("should forget a holder's lease", async () => {
    const leases = new HolderLeases(60_000);
    leases.renew("cs1");
    leases.forget("cs1");
    expect(leases.remainingMs("cs1")).to.equal(0);
    expect(await isPending(leases.expired("cs1"))).to.equal(false);
  });
});
