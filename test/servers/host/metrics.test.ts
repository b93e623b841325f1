/**
 * Tests of the metrics text (servers/host/metrics.ts): the Prometheus exposition of a
 * server's figures (gauges, labelled figures, histograms), and the process figures every
 * server adds.
 */
import { expect } from "chai";
import { eventLoopLagMs, histogramFigures, labelled, processFigures, renderMetrics, snakeCase } from "../../../servers/host/metrics.js";
import { LatencyHistogram } from "../../../ra-kernel/latency-histogram.js";

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

  describe("labelled", () => {
    it("should append labels in the order given", () => {
      expect(labelled("dsm_read_faults_total", { object: "sys:ds1:01ABC" })).to.equal('dsm_read_faults_total{object="sys:ds1:01ABC"}');
      expect(labelled("x", { a: 1, b: "two" })).to.equal('x{a="1",b="two"}');
    });

    it("should escape backslashes, double quotes and newlines in label values", () => {
      expect(labelled("x", { v: 'a\\b"c\nd' })).to.equal('x{v="a\\\\b\\"c\\nd"}');
    });
  });

  describe("histogramFigures", () => {
    it("should give cumulative buckets, +Inf, sum and count", () => {
      const f = histogramFigures("lat_us", { buckets: [{ le: 50, count: 1 }, { le: 100, count: 3 }], count: 4, sumUs: 321 });
      expect(f).to.deep.equal({
        'lat_us_bucket{le="50"}': 1,
        'lat_us_bucket{le="100"}': 3,
        'lat_us_bucket{le="+Inf"}': 4,
        lat_us_sum: 321,
        lat_us_count: 4,
      });
    });

    it("should take a LatencyHistogram snapshot as it is", () => {
      const h = new LatencyHistogram();
      h.record(75);
      h.record(1e9);
      const f = histogramFigures("h", h.snapshot());
      expect(f['h_bucket{le="50"}']).to.equal(0);
      expect(f['h_bucket{le="100"}']).to.equal(1);
      expect(f['h_bucket{le="+Inf"}']).to.equal(2);
      expect(f.h_count).to.equal(2);
    });
  });

  describe("snakeCase", () => {
    it("should turn counter names into metric name parts", () => {
      expect(snakeCase("readFaults")).to.equal("read_faults");
      expect(snakeCase("bytesIn")).to.equal("bytes_in");
      expect(snakeCase("epoch")).to.equal("epoch");
    });
  });

  describe("renderMetrics with labels and histograms", () => {
    it("should add a figure's own labels after server and role, with one TYPE line per metric", () => {
      const text = renderMetrics("cs1", "compute", { [labelled("dsm_faults_total", { object: "o1" })]: 2, [labelled("dsm_faults_total", { object: "o2" })]: 5 });
      expect(text).to.equal(
        [
          "# TYPE clouds_dsm_faults_total gauge",
          'clouds_dsm_faults_total{server="cs1",role="compute",object="o1"} 2',
          'clouds_dsm_faults_total{server="cs1",role="compute",object="o2"} 5',
          "",
        ].join("\n"),
      );
    });

    it("should type a histogram's buckets, sum and count as one histogram", () => {
      const text = renderMetrics("ds1", "data", { pages: 3, ...histogramFigures("fault_us", { buckets: [{ le: 50, count: 1 }], count: 2, sumUs: 90 }) });
      expect(text).to.equal(
        [
          "# TYPE clouds_pages gauge",
          'clouds_pages{server="ds1",role="data"} 3',
          "# TYPE clouds_fault_us histogram",
          'clouds_fault_us_bucket{server="ds1",role="data",le="50"} 1',
          'clouds_fault_us_bucket{server="ds1",role="data",le="+Inf"} 2',
          'clouds_fault_us_sum{server="ds1",role="data"} 90',
          'clouds_fault_us_count{server="ds1",role="data"} 2',
          "",
        ].join("\n"),
      );
    });

    it("should keep a gauge named like a histogram part a gauge when there is no such histogram", () => {
      const text = renderMetrics("ds1", "data", { pages_count: 4, commit_sum: 1 });
      expect(text).to.contain("# TYPE clouds_pages_count gauge\n");
      expect(text).to.contain("# TYPE clouds_commit_sum gauge\n");
    });

    // BUG (servers/host/metrics.ts renderMetrics, with the per-object figures of DataServer /
    // ComputeServer.figures(), which list every counter of one object, then the next object):
    // the text format requires "all lines for a given metric ... as one single group"
    // (prometheus.io, Exposition formats, Grouping and sorting); renderMetrics keeps the
    // figures' order, so each family's lines come out interleaved with the others'.
    it("should write all lines of one metric as one group, whatever the figures' order", () => {
      const figures = {
        [labelled("reads_total", { object: "o1" })]: 1,
        [labelled("writes_total", { object: "o1" })]: 2,
        [labelled("reads_total", { object: "o2" })]: 3,
        [labelled("writes_total", { object: "o2" })]: 4,
      };
      const names = renderMetrics("ds1", "data", figures)
        .trimEnd()
        .split("\n")
        .map((l) => (l.startsWith("# TYPE ") ? l.split(" ")[2] : l.slice(0, l.indexOf("{"))));
      const groups = names.filter((n, i) => i === 0 || n !== names[i - 1]);
      expect(groups, names.join(" ")).to.deep.equal(["clouds_reads_total", "clouds_writes_total"]);
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
