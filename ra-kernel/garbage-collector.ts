/**
 * GarbageCollector: asks V8 for a full collection after many page tables were let go.
 *
 *   const gc = new GarbageCollector(512);
 *   gc.released(2);      // two segments' page tables dropped here: collects every 512
 *
 * A page table is a SharedArrayBuffer shared by the kernel and every isiba worker that ran
 * its object; its memory and its two address-space mappings go back to the system only
 * once every isolate holding it has collected its wrapper. An idle worker allocates
 * nothing, so it never collects: the tables of deactivated objects would stay (and the
 * kernel's map count is finite). So after dropping `every` tables, an isolate collects
 * (soon, not inside the caller). If V8 will not expose its collector, this does nothing.
 *
 * Rules: one per isolate (kernel thread, each worker).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export class GarbageCollector {
  private pending = 0;
  private readonly collect: (() => void) | undefined = exposeCollector();
  /** Collections asked for so far. */
  collections = 0;

  constructor(private readonly every: number) {}

  released(tables: number): void {
    this.pending += tables;
    if (this.pending < this.every || !this.collect) return;
    this.pending = 0;
    this.collections++;
    setImmediate(this.collect);
  }
}

/**
 * V8's `gc`, reached through a fresh context made while the flag is set (it is not in ours);
 * the flag is cleared again at once, so no context made later (object code's) has `gc`.
 */
function exposeCollector(): (() => void) | undefined {
  try {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as unknown;
    return typeof gc === "function" ? () => (gc as () => void)() : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
}
