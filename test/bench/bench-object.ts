/**
 * BenchObject: a fresh Rectangle on a BenchCluster, made only to lend its segments to
 * benchmarks that fault pages directly (ComputeProbe).
 *
 *   const rect = await createBenchObject(bench, "DsmBench");
 *   await probe.fault("cs1", rect.segments.heap, 1000, "read");
 *
 * The object itself uses the first pages of its segments; benchmarks use heap pages from
 * FREE_HEAP_PAGE on (the heap segment spans 262,144 pages).
 */
import * as path from "node:path";
import type { ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import { connect } from "../../shell/client/cluster.js";
import { REPO_ROOT, type BenchCluster } from "./bench-cluster.js";

/** The first heap page no Rectangle touches. */
export const FREE_HEAP_PAGE = 1000;

export async function createBenchObject(bench: BenchCluster, prefix: string, at?: string): Promise<ObjectDescriptor> {
  const cluster = await connect({ dir: bench.dir, workstation: `bench-${process.pid}` });
  try {
    await cluster.load(path.join(REPO_ROOT, "objects/examples/rectangle.ts"));
    return await cluster.createObject("Rectangle", `${prefix}-${process.pid}-${Date.now()}`, [], at ? { at } : {});
  } finally {
    await cluster.close();
  }
}
