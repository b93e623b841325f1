/**
 * Metrics: the Prometheus text exposition of a server's figures (GET /metrics).
 *
 * Roles hand the host a function returning their current figures as flat name -> number
 * maps; the host adds process figures (RSS, heap, event-loop lag, uptime) and labels every
 * line with the server id and role.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";

export type Figures = Record<string, number>;

/** How often the lag figure is recomputed; the histogram is reset each time, so it is recent. */
const LAG_SAMPLE_MS = 500;

const lag = monitorEventLoopDelay({ resolution: 20 });
lag.enable();
let recentLagMs = 0;
// Reading the histogram's mean walks every bucket (~25 µs): never on the request path.
setInterval(() => {
  const ms = lag.mean / 1e6;
  recentLagMs = Number.isFinite(ms) ? Math.round(ms * 100) / 100 : 0;
  lag.reset();
}, LAG_SAMPLE_MS).unref();

/** Mean event-loop lag over the last sampling period (ms); cheap to call. */
export function eventLoopLagMs(): number {
  return recentLagMs;
}

export function processFigures(): Figures {
  const mem = process.memoryUsage();
  return {
    process_resident_bytes: mem.rss,
    process_heap_used_bytes: mem.heapUsed,
    process_uptime_seconds: Math.round(process.uptime()),
    event_loop_lag_ms: eventLoopLagMs(),
  };
}

/**
 * A figure's key with labels, e.g. `labelled("dsm_read_faults_total", { object: "sys:ds1:..." })`
 * -> `dsm_read_faults_total{object="sys:ds1:..."}`. Label values are escaped for the text format.
 */
export function labelled(name: string, labels: Record<string, string | number>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`))}"`);
  return `${name}{${parts.join(",")}}`;
}

/** The figures of a Prometheus histogram: `<name>_bucket{le=...}`, `<name>_sum`, `<name>_count`. */
export function histogramFigures(name: string, h: { buckets: { le: number; count: number }[]; count: number; sumUs: number }): Figures {
  const out: Figures = {};
  for (const b of h.buckets) out[labelled(`${name}_bucket`, { le: b.le })] = b.count;
  out[labelled(`${name}_bucket`, { le: "+Inf" })] = h.count;
  out[`${name}_sum`] = h.sumUs;
  out[`${name}_count`] = h.count;
  return out;
}

/** camelCase -> snake_case, for counter names in metric names. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

export function renderMetrics(server: string, role: string, figures: Figures): string {
  // The text format wants every line of one metric in one group: group by metric, in order of first appearance.
  const groups = new Map<string, string[]>();
  const histograms = new Set(Object.keys(figures).filter((k) => k.includes("_bucket{")).map((k) => metricName(k.slice(0, k.indexOf("_bucket{")))));
  for (const [key, value] of Object.entries(figures)) {
    const brace = key.indexOf("{");
    const metric = metricName(brace < 0 ? key : key.slice(0, brace));
    const extra = brace < 0 ? "" : `,${key.slice(brace + 1, -1)}`;
    const family = metric.replace(/_(bucket|sum|count)$/, "");
    const histogram = histograms.has(family) && family !== metric;
    const group = histogram ? family : metric;
    if (!groups.has(group)) groups.set(group, [`# TYPE ${group} ${histogram ? "histogram" : "gauge"}`]);
    groups.get(group)!.push(`${metric}{server="${server}",role="${role}"${extra}} ${value}`);
  }
  return [...groups.values()].flat().join("\n") + "\n";
}

function metricName(name: string): string {
  return `clouds_${name.replace(/[^a-zA-Z0-9_]/g, "_")}`;
}
