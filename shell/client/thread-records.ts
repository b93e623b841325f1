/**
 * ThreadRecords: the records a workstation keeps of the threads it started (DESIGN §6: no
 * central thread table — a thread's origin knows where it is).
 *
 * A record begins when a call leaves (`started`, its root frame as sent), learns its compute
 * server when placed (`placed`) and ends with the call's reply (`ended`). In between, compute
 * servers report the thread's frames that ran long enough to matter — each one's object,
 * entry, server, depth, since when, and state (running; waiting for a lock, a reply, a page)
 * — and their exits (servers/compute/frame-reports.ts, `apply`). A thread spawned by one of
 * ours (`this.spawn`) belongs here too: its output comes here; its record lives while its
 * frames are reported, with its parent.
 *
 *   records.started(t, { object, entry });  records.placed(t, "cs1");  ...  records.ended(t);
 *   records.list()   every thread, oldest first, with its chain of frames (deepest last)
 *
 * Rules: reports are hints (a late one for an ended thread is ignored); memory is bounded
 * (MAX_SPAWNED records of spawned threads, MAX_PARENTS parents remembered).
 */
import type { FrameReport } from "../../servers/compute/frame-reports.js";

/** Records of spawned threads kept at most (the oldest go first). */
const MAX_SPAWNED = 10_000;
/** Parents of spawned threads remembered at most. */
const MAX_PARENTS = 10_000;
/** The key of a root frame as sent, before a compute server reports it. */
const ROOT = "root";

export interface RecordedFrame {
  /** `server/id`, unique in the cluster (ROOT for the root frame as sent). */
  key: string;
  /** The compute server running it ("" while it is being placed). */
  server: string;
  depth: number;
  object: string;
  entry: string;
  /** When it started (ms since the Unix epoch). */
  since: number;
  state: string;
}

export interface ThreadRecord {
  thread: string;
  /** The thread that spawned it, if it was spawned (and the report of it came). */
  parent?: string;
  /** Started by a call from this workstation (or else spawned by one of its threads). */
  call: boolean;
  /** When it started (ms since the Unix epoch). */
  since: number;
  /** Where its output goes. */
  output: string;
  /** Its frames, outermost first: the last is where it is now. */
  frames: RecordedFrame[];
  /** What it does now (its deepest frame's state). */
  state: string;
}

interface Entry {
  thread: string;
  call: boolean;
  since: number;
  frames: Map<string, RecordedFrame>;
}

export class ThreadRecords {
  private readonly entries = new Map<string, Entry>();
  private readonly parents = new Map<string, string>();
  private spawnedCount = 0;
  /**
   * Calls that ended lately: a report of theirs still on its way is not a new thread. A ring
   * (`overRing`) says which to forget: taking a Set's oldest by iterating it walks past every
   * entry deleted before it — 7 µs a call by the thousands.
   */
  private readonly over = new Set<string>();
  private readonly overRing: (string | undefined)[] = new Array(MAX_PARENTS);
  private overNext = 0;

  constructor(private readonly workstation: string, private readonly now: () => number = Date.now) {}

  /** A call leaves as thread `thread`, for `entry` of `object`. */
  started(thread: string, root: { object: string; entry: string }): void {
    const since = this.now();
    const frame: RecordedFrame = { key: ROOT, server: "", depth: 0, object: root.object, entry: root.entry, since, state: "being placed" };
    this.entries.set(thread, { thread, call: true, since, frames: new Map([[ROOT, frame]]) });
  }

  /** The call was sent to compute server `server` (again, if it is placed once more). */
  placed(thread: string, server: string): void {
    const root = this.entries.get(thread)?.frames.get(ROOT);
    if (root) Object.assign(root, { server, state: "running" });
  }

  /** The call's reply came (a value or an error): the thread is over. */
  ended(thread: string): void {
    this.entries.delete(thread);
    this.parents.delete(thread);
    const old = this.overRing[this.overNext];
    if (old !== undefined) this.over.delete(old);
    this.overRing[this.overNext] = thread;
    this.overNext = (this.overNext + 1) % MAX_PARENTS;
    this.over.add(thread);
  }

  /** Reports from compute servers (see header). */
  apply(reports: FrameReport[]): void {
    for (const r of reports) {
      if ("parent" in r) this.noteParent(r.thread, r.parent);
      else if ("ended" in r) this.exit(r.thread, r.key);
      else this.frame(r);
    }
  }

  /** Every thread recorded here, oldest first. */
  list(): ThreadRecord[] {
    return [...this.entries.values()].sort((a, b) => a.since - b.since).map((e) => this.record(e));
  }

  get(thread: string): ThreadRecord | undefined {
    const e = this.entries.get(thread);
    return e && this.record(e);
  }

  get size(): number {
    return this.entries.size;
  }

  private record(e: Entry): ThreadRecord {
    const frames = [...e.frames.values()].sort((a, b) => a.depth - b.depth || a.since - b.since).map((f) => ({ ...f }));
    const parent = this.parents.get(e.thread);
    return { thread: e.thread, ...(parent ? { parent } : {}), call: e.call, since: e.since, output: this.workstation, frames, state: frames.at(-1)?.state ?? "ending" };
  }

  private frame(r: Extract<FrameReport, { state: string }>): void {
    let e = this.entries.get(r.thread);
    if (!e) {
      if (this.over.has(r.thread)) return; // a report that crossed the call's reply
      if (this.spawnedCount >= MAX_SPAWNED) this.dropOldestSpawned();
      e = { thread: r.thread, call: false, since: r.since, frames: new Map() };
      this.entries.set(r.thread, e);
      this.spawnedCount++;
    }
    // The root as reported replaces the root as sent (a retry elsewhere reports its own).
    if (r.depth === 0) e.frames.delete(ROOT);
    e.frames.set(r.key, { key: r.key, server: r.server, depth: r.depth, object: r.object, entry: r.entry, since: r.since, state: r.state });
    if (r.since < e.since) e.since = r.since;
  }

  private exit(thread: string, key: string): void {
    const e = this.entries.get(thread);
    if (!e || !e.frames.delete(key)) return;
    // A spawned thread is over when none of its frames runs; a call, when its reply comes.
    if (!e.call && e.frames.size === 0) this.forget(thread);
  }

  private noteParent(child: string, parent: string): void {
    this.parents.set(child, parent);
    if (this.parents.size > MAX_PARENTS) this.parents.delete(this.parents.keys().next().value!);
  }

  private forget(thread: string): void {
    if (this.entries.get(thread)?.call === false) this.spawnedCount--;
    this.entries.delete(thread);
    this.parents.delete(thread);
  }

  private dropOldestSpawned(): void {
    for (const e of this.entries.values()) if (!e.call) return this.forget(e.thread);
  }
}
