/**
 * Tests of ThreadTrace (servers/host/thread-trace.ts): events by thread in order with a
 * rising Lamport clock, clipped details, and a bounded ring that drops its oldest (counted).
 */
import { expect } from "chai";
import { LamportClock } from "../../../ra-kernel/lamport-clock.js";
import { ThreadTrace } from "../../../servers/host/thread-trace.js";

describe("ThreadTrace", () => {
  it("should keep a thread's events in order, each on a rising clock, details clipped", () => {
    const clock = new LamportClock();
    const trace = new ThreadTrace("cs1", clock);
    trace.record("t:ws1:a", "frame enter", "run of x");
    trace.record("t:ws1:b", "frame enter", "other");
    clock.observe(100); // a message from a server further along
    trace.record("t:ws1:a", "frame exit", "run of x".repeat(50), 1.23456);
    const events = trace.of("t:ws1:a");
    expect(events.map((e) => [e.kind, e.server])).to.deep.equal([["frame enter", "cs1"], ["frame exit", "cs1"]]);
    expect(events[1].clock).to.be.greaterThan(100);
    expect(events[1].detail).to.have.length(201);
    expect(events[1].ms).to.equal(1.235);
  });

  it("should drop its oldest events when full, and count them", () => {
    const trace = new ThreadTrace("cs1", new LamportClock(), 3);
    for (let i = 0; i < 5; i++) trace.record("t:ws1:a", "print", `line ${i}`);
    expect(trace.of("t:ws1:a").map((e) => e.detail)).to.deep.equal(["line 2", "line 3", "line 4"]);
    expect(trace.dropped).to.equal(2);
    expect(trace.recorded).to.equal(5);
  });
});
