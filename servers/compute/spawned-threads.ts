/**
 * SpawnedThreads: the threads object code on this compute server started with `this.spawn`
 * (syscall thread.spawn), kept for `join` (thread.join): each one's end, remembered until it
 * was joined once or, unjoined, for RETAIN_MS after it ended (at most MAX_KEPT of them).
 *
 * Rules: a join of an id this server never spawned (or forgot) is refused with a clear error.
 */
import { CloudsError, registerError } from "../../ra-kernel/clouds-error.js";

/** How long the end of a spawned thread nobody joined is kept (ms). */
const RETAIN_MS = 10 * 60 * 1000;
/** Ends kept at most (the oldest go first). */
const MAX_KEPT = 10_000;

export class UnknownThreadError extends CloudsError {
  declare readonly thread: string;
  static override fieldNames = ["thread"];
}

registerError(UnknownThreadError);

export class SpawnedThreads {
  private readonly ends = new Map<string, { end: Promise<unknown>; timer?: NodeJS.Timeout }>();
  /** Threads spawned here, joined (metrics). */
  readonly counts = { spawned: 0, joined: 0 };

  /** Keeps the end of thread `id` (its invocation's promise). */
  track(id: string, end: Promise<unknown>): void {
    this.counts.spawned++;
    const kept = { end, timer: undefined as NodeJS.Timeout | undefined };
    this.ends.set(id, kept);
    if (this.ends.size > MAX_KEPT) this.forget(this.ends.keys().next().value!);
    void end.then(() => undefined, () => undefined).then(() => {
      if (this.ends.get(id) !== kept) return;
      kept.timer = setTimeout(() => this.forget(id), RETAIN_MS);
      kept.timer.unref();
    });
  }

  /** Waits for thread `id`'s end: its value, or its error; then forgets it. */
  async join(id: string): Promise<unknown> {
    const kept = this.ends.get(id);
    if (!kept) throw new UnknownThreadError(`no thread ${id} was spawned on this compute server (or it ended and was joined, or forgotten ${RETAIN_MS / 60_000} minutes after it ended)`, { thread: id });
    try {
      return await kept.end;
    } finally {
      this.counts.joined++;
      this.forget(id);
    }
  }

  private forget(id: string): void {
    clearTimeout(this.ends.get(id)?.timer);
    this.ends.delete(id);
  }
}
