/**
 * Isiba: one unit of execution on a compute server — here, one invocation (or constructor
 * run) of an object's code inside a worker of the IsibaPool.
 *
 * States (changed only through `moveTo`, which logs the transition):
 *   queued   accepted, not yet sent to a worker
 *   running  its code is executing (or awaiting a nested invocation) in a worker
 *   faulted  blocked in a page fault that the kernel is servicing
 *   done     replied (successfully or not)
 * The counts of non-done isibas are the compute server's load figure.
 */
import createDebug from "debug";
import type { SysName, ThreadId } from "./ids.js";

const log = createDebug("ra:isiba");

export type IsibaState = "queued" | "running" | "faulted" | "done";

export class Isiba {
  state: IsibaState = "queued";
  readonly startedAt = performance.now();
  faults = 0;

  constructor(
    readonly id: number,
    readonly thread: ThreadId,
    readonly object: SysName,
    readonly entry: string,
  ) {}

  moveTo(next: IsibaState): void {
    log("isiba %d %s.%s: %s -> %s", this.id, this.object, this.entry, this.state, next);
    this.state = next;
  }
}
