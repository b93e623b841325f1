/**
 * Tests of the metrics text (servers/host/metrics.ts): the Prometheus exposition of a
 * server's figures, and the process figures every server adds.
 */
import { expect } from "chai";
import { eventLoopLagMs, processFigures, renderMetrics } from "../../../servers/host/metrics.js";

describe("metrics", () => {
  describe("renderMetrics", () => {
    it("should write one gauge per figure, labelled with server and role", () => {
      expect(renderMetrics("ds1", "data", { pages_stored: 42, commit_ms: 1.25 })).to.equal(
        [
          "# TYPE clouds_pages_stored gauge",
          'clouds_pages_stored{server="ds1",role="data"} 42',
          "# TYPE clouds_commit_ms gauge",
          'clouds_commit_ms{server="ds1",role="data"} 1.25',
          "",
        ].join("\n"),
      );
    });

    it("should turn characters a metric name cannot hold into underscores", () => {
      const text = renderMetrics("cs1", "compute", { "dsm.faults": 1, "rpc-latency/ms": 2, "ok_Name9": 3 });
      expect(text).to.contain('clouds_dsm_faults{server="cs1",role="compute"} 1');
      expect(text).to.contain('clouds_rpc_latency_ms{server="cs1",role="compute"} 2');
      expect(text).to.contain('clouds_ok_Name9{server="cs1",role="compute"} 3');
      for (const line of text.trimEnd().split("\n")) {
        expect(line).to.match(/^(# TYPE clouds_[a-zA-Z0-9_]+ gauge|clouds_[a-zA-Z0-9_]+\{server="cs1",role="compute"\} \S+)$/);
      }
    });

    it("should write negative, zero and large values as numbers", () => {
      const text = renderMetrics("cs1", "compute", { a: -3, b: 0, c: 1e21 });
      expect(text).to.contain("clouds_a{server=\"cs1\",role=\"compute\"} -3\n");
      expect(text).to.contain("clouds_b{server=\"cs1\",role=\"compute\"} 0\n");
      expect(text).to.contain("clouds_c{server=\"cs1\",role=\"compute\"} 1e+21\n");
    });

    it("should keep the figures' order", () => {
      const text = renderMetrics("ns1", "name", { z: 1, a: 2, m: 3 });
      const names = text.split("\n").filter((l) => l.startsWith("clouds_")).map((l) => l.split("{")[0]);
      expect(names).to.deep.equal(["clouds_z", "clouds_a", "clouds_m"]);
    });
  });

  describe("processFigures", () => {
    it("should give the process's memory, uptime and event-loop lag", () => {
      const f = processFigures();
      expect(Object.keys(f)).to.deep.equal(["process_resident_bytes", "process_heap_used_bytes", "process_uptime_seconds", "event_loop_lag_ms"]);
      expect(f.process_resident_bytes).to.be.greaterThan(0);
      expect(f.process_heap_used_bytes).to.be.greaterThan(0).and.at.most(f.process_resident_bytes);
      expect(Number.isInteger(f.process_uptime_seconds)).to.equal(true);
      expect(f.event_loop_lag_ms).to.be.at.least(0);
    });
  });

  describe("eventLoopLagMs", () => {
    it("should be a finite, non-negative number of milliseconds", () => {
      const ms = eventLoopLagMs();
      expect(Number.isFinite(ms)).to.equal(true);
      expect(ms).to.be.at.least(0);
    });
  });
});
