/**
 * Tests of LamportClock (ra-kernel/lamport-clock.ts): ticks for local events and sends,
 * merges of received stamps, and bad stamps that must not move the clock backwards or to
 * a value no message could carry.
 */
import { expect } from "chai";
import { LamportClock } from "../../ra-kernel/lamport-clock.js";

describe("LamportClock", () => {
  let clock: LamportClock;

  beforeEach(() => {
    clock = new LamportClock();
  });

  it("should start at 0 and not advance when read", () => {
    expect(clock.now()).to.equal(0);
    expect(clock.now()).to.equal(0);
  });

  it("should advance by one on each tick and return the new value", () => {
    expect(clock.tick()).to.equal(1);
    expect(clock.tick()).to.equal(2);
    expect(clock.now()).to.equal(2);
  });

  it("should move past a larger received stamp", () => {
    clock.tick();
    expect(clock.observe(41)).to.equal(42);
    expect(clock.now()).to.equal(42);
    expect(clock.tick()).to.equal(43);
  });

  it("should still advance on a smaller or equal received stamp", () => {
    for (let i = 0; i < 10; i++) clock.tick();
    expect(clock.observe(3)).to.equal(11);
    expect(clock.observe(11)).to.equal(12);
  });

  it("should order a receive after its send across two clocks", () => {
    const a = new LamportClock();
    const b = new LamportClock();
    for (let i = 0; i < 5; i++) b.tick();
    const sent = a.tick();
    const received = b.observe(sent);
    expect(received).to.be.greaterThan(sent);
    const reply = b.tick();
    expect(a.observe(reply)).to.be.greaterThan(reply);
  });

  it("should ignore stamps that are not finite numbers or are negative", () => {
    clock.observe(5);
    for (const bad of [NaN, Infinity, -Infinity, -10]) {
      const before = clock.now();
      expect(clock.observe(bad), String(bad)).to.equal(before + 1);
    }
    expect(Number.isFinite(clock.now())).to.equal(true);
  });

  it("should keep integer values when a stamp has a fraction", () => {
    expect(clock.observe(7.9)).to.equal(8);
    expect(Number.isInteger(clock.now())).to.equal(true);
    expect(clock.observe(8.5)).to.equal(9);
  });
});
