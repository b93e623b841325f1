/**
 * FaultChannel: how an isiba (worker thread) takes a page fault synchronously.
 *
 * Object code reads and writes fields synchronously, so a missing page cannot be awaited.
 * Instead the isiba posts a fault request on its dedicated MessagePort, then blocks in
 * `Atomics.wait` on its doorbell word. The kernel thread (which is never blocked) fetches
 * the page, installs it in the SegmentFrames, posts the reply on the same port and rings the
 * doorbell. The isiba wakes and takes the reply with `receiveMessageOnPort` — synchronously,
 * because its event loop is stopped inside object code.
 *
 * Rules: nobody attaches a 'message' listener to the worker's end of the port (it would steal
 * replies); one fault at a time per worker (object code is synchronous between awaits).
 */
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { fromWireError, type WireError } from "./clouds-error.js";
import type { PageNo, SysName } from "./ids.js";
import type { AccessMode } from "./page-state.js";
import { currentWriteLog } from "./write-log.js";

export interface FaultRequest {
  segment: SysName;
  page: PageNo;
  mode: AccessMode;
  /** The faulting segment's start mark (WriteLog.since), if it runs in one and has written: see DsmClient.fault. */
  since?: number;
}

export interface FaultReply {
  ok: boolean;
  error?: WireError;
}

/** Doorbell values. */
export const DOORBELL_IDLE = 0;
export const DOORBELL_RUNG = 1;

/** How long one wait may last before the isiba checks again (ms). */
const WAIT_SLICE_MS = 1000;

export class FaultChannel {
  /** Faults taken by this worker (for metrics and tests). */
  faults = 0;

  constructor(
    private readonly port: MessagePort,
    private readonly doorbell: Int32Array,
  ) {}

  /** Blocks until the kernel has made `page` accessible in `mode`, or throws its error. */
  fault(segment: SysName, page: PageNo, mode: AccessMode): void {
    this.faults++;
    Atomics.store(this.doorbell, 0, DOORBELL_IDLE);
    const log = currentWriteLog();
    this.port.postMessage({ segment, page, mode, since: log && !log.empty ? log.since : undefined } satisfies FaultRequest);
    const reply = this.awaitReply();
    if (reply.ok) return;
    const err = fromWireError(reply.error ?? { name: "Error", message: "page fault failed" });
    // The access sequence it interrupted is half done: its segment must not commit.
    if (log) log.broken ??= `a page fault failed inside it (${err.name}: ${err.message})`;
    throw err;
  }

  private awaitReply(): FaultReply {
    for (;;) {
      Atomics.wait(this.doorbell, 0, DOORBELL_IDLE, WAIT_SLICE_MS);
      const received = receiveMessageOnPort(this.port);
      if (received) return received.message as FaultReply;
    }
  }
}
