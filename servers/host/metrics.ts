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

export function renderMetrics(server: string, role: string, figures: Figures): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(figures)) {
    const metric = `clouds_${name.replace(/[^a-zA-Z0-9_]/g, "_")}`;
    lines.push(`# TYPE ${metric} gauge`, `${metric}{server="${server}",role="${role}"} ${value}`);
  }
  return lines.join("\n") + "\n";
}
