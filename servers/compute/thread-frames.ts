/**
 * ThreadFrames: the frames this compute server runs now — one per invocation of a thread
 * here, arrived from a workstation or another compute server, or nested from a frame here —
 * and the threads killed here (DESIGN §6: a thread diffuses across servers; each server
 * knows the frames it runs, so `threads --all` asks them all, and a kill reaches every frame
 * by asking every server).
 *
 *   const frame = frames.enter({ thread, depth, object, entry });  ...run...  frame.exit();
 *   frames.list()          every frame here, oldest first (compute.threads)
 *   frames.kill(thread)    the thread is killed here: its frames are listed for the caller
 *                          to stop (IsibaPool.kill), and a frame of it that arrives or is
 *                          about to run later is refused (`killed`) — for KILL_MEMORY_MS
 *
 * Rules: every `enter` is exited exactly once (the exit is idempotent).
 */
import type { SysName } from "../../ra-kernel/ids.js";

/** How long a kill is remembered, so a frame of the thread still on its way is refused (ms). */
export const KILL_MEMORY_MS = 60_000;
/** Killed threads remembered, at most (the oldest go first). */
const MAX_KILLED = 10_000;

/** One frame as `threads` shows it. */
export interface FrameInfo {
  /** Unique among this server's frames (its frame reports' key: FrameReports). */
  id: number;
  thread: string;
  depth: number;
  object: SysName;
  entry: string;
  /** When it started here (ms since the Unix epoch). */
  since: number;
  /** When its thread must be done (ms since the Unix epoch), if it has a deadline. */
  deadline?: number;
  /** What it does now ("running", "waiting for lock 'k'"...; compute.threads fills it in). */
  state?: string;
}

export class ThreadFrames {
  /** Frames by thread (a nested invocation looks its thread's deadline up: no scan of every frame). */
  private readonly byThread = new Map<string, Set<FrameInfo>>();
  private running = 0;
  private nextId = 1;
  /** Killed threads, by when (ms since the Unix epoch), and what their frames fail with if not the default. */
  private readonly killedAt = new Map<string, number>();
  private readonly reasons = new Map<string, () => Error>();
  /** Threads killed here, and frames they had here then (metrics). */
  readonly counts = { kills: 0, framesKilled: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  /** Frames running now. */
  get size(): number {
    return this.running;
  }

  /** A frame starts; call its `exit` when it ends. */
  enter(frame: Omit<FrameInfo, "since" | "id">): { id: number; exit: () => void } {
    // Built field by field, one shape for every frame (this runs for every invocation).
    const f: FrameInfo = { id: this.nextId++, thread: frame.thread, depth: frame.depth, object: frame.object, entry: frame.entry, since: this.now(), deadline: frame.deadline };
    let frames = this.byThread.get(f.thread);
    if (!frames) this.byThread.set(f.thread, (frames = new Set()));
    frames.add(f);
    this.running++;
    const mine = frames;
    const exit = () => {
      if (!mine.delete(f)) return;
      this.running--;
      if (mine.size === 0 && this.byThread.get(f.thread) === mine) this.byThread.delete(f.thread);
    };
    return { id: f.id, exit };
  }

  /** Every frame here (of `thread` only, if given), oldest first. */
  list(thread?: string): FrameInfo[] {
    const sets = thread === undefined ? [...this.byThread.values()] : [this.byThread.get(thread) ?? new Set<FrameInfo>()];
    return sets.flatMap((set) => [...set]).sort((a, b) => a.since - b.since).map((f) => ({ ...f }));
  }

  /** Kills `thread` here: its frames now (to stop), and from now on refused (see header). */
  kill(thread: string, reason?: () => Error): FrameInfo[] {
    this.killedAt.delete(thread); // re-inserted last: the map's order is by kill time
    this.killedAt.set(thread, this.now());
    if (reason) this.reasons.set(thread, reason);
    if (this.killedAt.size > MAX_KILLED) this.forget(this.killedAt.keys().next().value!);
    const frames = this.list(thread);
    this.counts.kills++;
    this.counts.framesKilled += frames.length;
    return frames;
  }

  /** The deadline of `thread` as a frame of it here carries it (nested invocations inherit it). */
  deadlineOf(thread: string): number | undefined {
    for (const f of this.byThread.get(thread) ?? []) if (f.deadline !== undefined) return f.deadline;
    return undefined;
  }

  /** Whether `thread` was killed here within KILL_MEMORY_MS. */
  killed(thread: string): boolean {
    const at = this.killedAt.get(thread);
    if (at === undefined) return false;
    if (this.now() - at <= KILL_MEMORY_MS) return true;
    this.forget(thread);
    return false;
  }

  /** What the frames of `thread`, killed here, fail with, if it was given (a deadline's error). */
  killedBy(thread: string): (() => Error) | undefined {
    return this.killed(thread) ? this.reasons.get(thread) : undefined;
  }

  private forget(thread: string): void {
    this.killedAt.delete(thread);
    this.reasons.delete(thread);
  }
}
