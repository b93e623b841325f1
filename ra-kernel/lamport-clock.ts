/**
 * LamportClock: the logical clock every process keeps and every message carries.
 *
 * `tick()` before sending (or recording a local event) and stamp the message with the result;
 * `observe(remote)` on receipt. Events ordered by (clock, server) are then causally ordered,
 * which is what the merged trace of a thread relies on. One clock per process, shared by
 * all its transports.
 */
export class LamportClock {
  private time = 0;

  /** The current value without advancing it. */
  now(): number {
    return this.time;
  }

  /** Advances for a local event or a send; returns the stamp to use. */
  tick(): number {
    this.time += 1;
    return this.time;
  }

  /** Merges a received stamp: the clock moves past it. Returns the new value. */
  observe(remote: number): number {
    if (Number.isFinite(remote) && remote > this.time) this.time = Math.floor(remote);
    this.time += 1;
    return this.time;
  }
}
