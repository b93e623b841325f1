/**
 * ChurnSampler: how much memory churn a torture run caused on its compute servers — objects
 * deactivated, pages evicted, owned pages given home — read from their /metrics while the run
 * goes on. A killed server's counters die with it, so each process (server id and pid) is
 * kept at its last reading and the totals add them up: a lower bound of what happened.
 *
 *   const churn = new ChurnSampler(clusterDir);
 *   await churn.sample(cluster.servers());       // now and then, and at the end of the workload
 *   churn.totals();                              // { deactivated, evicted, released }
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { ClusterServer } from "../../shell/cluster-file.js";
import { ServerMetrics } from "../bench/server-metrics.js";

export interface Churn {
  deactivated: number;
  evicted: number;
  released: number;
}

export class ChurnSampler {
  private readonly last = new Map<string, Churn>();
  private token: string | null = null;

  constructor(private readonly dir: string) {}

  /** Reads every compute server that answers; one that does not keeps its last reading. */
  async sample(servers: ClusterServer[]): Promise<void> {
    this.token ??= readFileSync(path.join(this.dir, "token"), "utf8").trim();
    await Promise.all(servers.filter((s) => s.role === "compute").map(async (s) => {
      try {
        const m = await ServerMetrics.fetch(s.address, this.token!);
        this.last.set(`${s.id}:${s.pid}`, {
          deactivated: m.value("objects_deactivated_total") ?? 0,
          evicted: m.value("dsm_pages_evicted_total") ?? 0,
          released: m.value("dsm_pages_released_total") ?? 0,
        });
      } catch {
        // Down or restarting: its last reading stands.
      }
    }));
  }

  totals(): Churn {
    const t: Churn = { deactivated: 0, evicted: 0, released: 0 };
    for (const c of this.last.values()) {
      t.deactivated += c.deactivated;
      t.evicted += c.evicted;
      t.released += c.released;
    }
    return t;
  }
}
