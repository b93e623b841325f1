/**
 * Tests of LatencyHistogram (ra-kernel/latency-histogram.ts): fixed buckets in microseconds,
 * cumulative snapshots (the Prometheus shape), and quantile bounds.
 */
import { expect } from "chai";
import { LATENCY_BUCKETS_US, LatencyHistogram } from "../../ra-kernel/latency-histogram.js";

describe("LatencyHistogram", () => {
  it("should start empty", () => {
    const h = new LatencyHistogram();
    const s = h.snapshot();
    expect(s.count).to.equal(0);
    expect(s.sumUs).to.equal(0);
    expect(s.buckets.map((b) => b.le)).to.deep.equal([...LATENCY_BUCKETS_US]);
    expect(s.buckets.every((b) => b.count === 0)).to.equal(true);
    expect(h.quantileBoundUs(0.5)).to.equal(0);
  });

  it("should count each sample in the first bucket whose bound it does not exceed, cumulatively", () => {
    const h = new LatencyHistogram();
    for (const us of [10, 50, 51, 100, 3_000, 204_800]) h.record(us);
    const counts = Object.fromEntries(h.snapshot().buckets.map((b) => [b.le, b.count]));
    expect(counts[50], "bounds are inclusive").to.equal(2);
    expect(counts[100]).to.equal(4);
    expect(counts[200]).to.equal(4);
    expect(counts[3_200]).to.equal(5);
    expect(counts[204_800]).to.equal(6);
    expect(h.count).to.equal(6);
  });

  it("should count samples above the last bound only in the total (+Inf)", () => {
    const h = new LatencyHistogram();
    h.record(1_000_000);
    h.record(20);
    const s = h.snapshot();
    expect(s.count).to.equal(2);
    expect(s.buckets[s.buckets.length - 1].count).to.equal(1);
    expect(h.quantileBoundUs(1)).to.equal(Infinity);
  });

  it("should sum the samples, rounded to whole microseconds in snapshots", () => {
    const h = new LatencyHistogram();
    h.record(10.4);
    h.record(20.4);
    expect(h.sumUs).to.be.closeTo(30.8, 1e-9);
    expect(h.snapshot().sumUs).to.equal(31);
  });

  it("should bound quantiles by the bucket that reaches them", () => {
    const h = new LatencyHistogram();
    for (let i = 0; i < 90; i++) h.record(40);
    for (let i = 0; i < 10; i++) h.record(700);
    expect(h.quantileBoundUs(0.5)).to.equal(50);
    expect(h.quantileBoundUs(0.9)).to.equal(50);
    expect(h.quantileBoundUs(0.95)).to.equal(800);
    expect(h.quantileBoundUs(1)).to.equal(800);
  });

  it("should give snapshots that later samples do not change", () => {
    const h = new LatencyHistogram();
    h.record(1);
    const s = h.snapshot();
    h.record(1);
    expect(s.count).to.equal(1);
    expect(s.buckets[0].count).to.equal(1);
  });
});
