/**
 * The Clouds driver process: runs the workloads on a Clouds cluster through the typed client
 * (`connect({ dir })`), with the default placement and the data servers' default durability
 * (every commit fsynced). Each counter is an objects/examples/counter.ts `Counter`:
 * `increment()` is an exclusive entry returning the new count, `read()` a plain entry.
 *
 * `prepare` loads the Counter class and creates one object per counter id, named
 * `PeerBench-<id>` (the cluster is fresh for every repetition).
 *
 * Usage: withDriver("clouds-driver.js", { dir } satisfies CloudsDriverConfig, ...) (driver-child.ts).
 */
import * as path from "node:path";
import { connect, type Cluster } from "../../../shell/client/cluster.js";
import type { Remote } from "../../../shell/client/remote.js";
import type { Counter } from "../../../objects/examples/counter.js";
import { REPO_ROOT } from "../bench-cluster.js";
import type { CounterTarget } from "./counter-target.js";
import { serveWorkloads } from "./driver-loop.js";

export interface CloudsDriverConfig {
  /** The cluster directory (cluster.json, token). */
  dir: string;
}

const COUNTER_CLASS = path.join(REPO_ROOT, "objects/examples/counter.ts");

export class CloudsCounterTarget implements CounterTarget {
  private readonly counters = new Map<string, Remote<Counter>>();

  constructor(private readonly cluster: Cluster) {}

  async prepare(ids: readonly string[]): Promise<void> {
    await this.cluster.load(COUNTER_CLASS);
    for (const id of ids) this.counters.set(id, await this.cluster.create<Counter>("Counter", `PeerBench-${id}`));
  }

  increment(id: string): Promise<number> {
    return this.counter(id).increment();
  }

  read(id: string): Promise<number> {
    return this.counter(id).read();
  }

  close(): Promise<void> {
    return this.cluster.close();
  }

  private counter(id: string): Remote<Counter> {
    const counter = this.counters.get(id);
    if (!counter) throw new Error(`no counter ${id}: prepare it first`);
    return counter;
  }
}

if (require.main === module) {
  serveWorkloads<CloudsDriverConfig>("clouds-driver", async ({ dir }) => new CloudsCounterTarget(await connect({ dir, workstation: `peer-bench-${process.pid}` })));
}
