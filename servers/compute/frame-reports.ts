/**
 * FrameReports: how a compute server tells each thread's workstation where the thread is
 * (DESIGN §6: the origin keeps the thread's record; compute servers report frame entry and
 * exit to it) — without a message on the invocation path.
 *
 * Every REPORT_EVERY_MS a tick walks the frames running here. A frame that has run that long
 * is reported (`workstation.frames`, one message per connection, every frame for it batched)
 * with its state (running, waiting for a lock, a reply, a page), and again whenever the
 * state changed. A frame that ends before its first tick is never reported: null and short
 * invocations cost a map insert and delete, nothing on the wire — the workstation knows the
 * root frame it sent anyway. When a reported frame ends, its exit is sent at once, before the
 * invocation's reply (same connection, so the workstation never sees a reply before the
 * exit of a frame under it). A spawned thread's parent is reported with its first batch.
 *
 * Reports travel as output does (ThreadRoutes): by the connection the thread first arrived
 * on here; a compute server up the chain forwards them (`forward`) until the workstation.
 *
 *   const reports = new FrameReports({ server, frames: () => ..., routeOf: (t) => ... });
 *   reports.start();   ...   reports.ended(thread, frameId);   ...   reports.stop();
 *
 * Rules: reports never fail an invocation (delivery errors are logged); what is sent is a
 * hint for people (`threads`), not state anything else relies on.
 */
import createDebug from "debug";
import type { Peer } from "../transport/transport.js";
import type { FrameInfo } from "./thread-frames.js";

const log = createDebug("servers:compute:frame-reports");

/** How often frames are looked at, and how long a frame runs before it is reported (ms). */
export const REPORT_EVERY_MS = 50;
/** Reports per message, at most (the rest go in the next one). */
export const MAX_REPORTS_PER_MESSAGE = 500;

/** One report: a frame as it is now, a frame that ended, or the parent of a spawned thread. */
export type FrameReport =
  | { thread: string; key: string; server: string; depth: number; object: string; entry: string; since: number; state: string }
  | { thread: string; key: string; ended: true }
  | { thread: string; parent: string };

export interface FrameReportsDeps {
  /** This compute server's id (part of every frame's key). */
  server: string;
  /** The frames running here now, with their states. */
  frames(): FrameInfo[];
  /** The connection towards `thread`'s workstation (ThreadRoutes), if it has one here. */
  routeOf(thread: string): Peer | undefined;
  everyMs?: number;
  now?: () => number;
}

export class FrameReports {
  /** Frames reported and not yet ended, by key: the state last sent. */
  private readonly reported = new Map<string, { thread: string; state: string }>();
  /** Spawned threads whose parent is still to be sent. */
  private readonly parents = new Map<string, string>();
  private timer?: NodeJS.Timeout;
  /** Messages and reports sent (metrics). */
  readonly counts = { messages: 0, reports: 0 };

  constructor(private readonly deps: FrameReportsDeps) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), this.deps.everyMs ?? REPORT_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Frame `id` of `thread` ended: if it was reported, its exit goes now. */
  ended(thread: string, id: number): void {
    const key = this.keyOf(id);
    if (!this.reported.delete(key)) return;
    this.send(new Map([[thread, [{ thread, key, ended: true }]]]));
  }

  /** `child` was spawned here by a frame of `parent`: said with the next batch, unless it ended first (`spawnEnded`). */
  spawned(child: string, parent: string): void {
    this.parents.set(child, parent);
  }

  spawnEnded(child: string): void {
    this.parents.delete(child);
  }

  /** Reports from a compute server down some threads' chains: on up each one's route. */
  forward(reports: FrameReport[]): void {
    const byThread = new Map<string, FrameReport[]>();
    for (const r of reports) addTo(byThread, r);
    this.send(byThread);
  }

  /** One look at the frames here (see header). */
  tick(): void {
    const now = (this.deps.now ?? Date.now)();
    const minAge = this.deps.everyMs ?? REPORT_EVERY_MS;
    const frames = this.deps.frames();
    if (frames.length === 0 && this.reported.size === 0 && this.parents.size === 0) return;
    const out = new Map<string, FrameReport[]>();
    const add = (r: FrameReport) => addTo(out, r);
    const live = new Set<string>();
    for (const f of frames) this.look(f, now - minAge, live, add);
    for (const [key, r] of this.reported) if (!live.has(key)) (this.reported.delete(key), add({ thread: r.thread, key, ended: true }));
    for (const [child, parent] of this.parents) add({ thread: child, parent });
    this.parents.clear();
    if (out.size > 0) this.send(out);
  }

  private look(f: FrameInfo, before: number, live: Set<string>, add: (r: FrameReport) => void): void {
    const key = this.keyOf(f.id);
    const sent = this.reported.get(key);
    if (!sent && f.since > before) return;
    live.add(key);
    const state = f.state ?? "running";
    if (sent?.state === state) return;
    this.reported.set(key, { thread: f.thread, state });
    add({ thread: f.thread, key, server: this.deps.server, depth: f.depth, object: f.object, entry: f.entry, since: f.since, state });
  }

  private keyOf(id: number): string {
    return `${this.deps.server}/${id}`;
  }

  /** One message per connection, with every report for the threads routed by it. */
  private send(byThread: Map<string, FrameReport[]>): void {
    const byPeer = new Map<Peer, FrameReport[]>();
    for (const [thread, reports] of byThread) {
      const peer = this.deps.routeOf(thread);
      if (!peer) {
        log("%d report(s) of thread %s dropped: it has no route here", reports.length, thread);
        continue;
      }
      const list = byPeer.get(peer);
      if (list) list.push(...reports);
      else byPeer.set(peer, [...reports]);
    }
    for (const [peer, reports] of byPeer) {
      for (let i = 0; i < reports.length; i += MAX_REPORTS_PER_MESSAGE) this.post(peer, reports.slice(i, i + MAX_REPORTS_PER_MESSAGE));
    }
  }

  private post(peer: Peer, reports: FrameReport[]): void {
    this.counts.messages++;
    this.counts.reports += reports.length;
    peer.request("workstation.frames", { reports }).catch((err: Error) => {
      log("%d frame report(s) not delivered to %s: %s", reports.length, peer.remoteId, err.message);
    });
  }
}

/** Adds a report to its thread's list. */
function addTo(byThread: Map<string, FrameReport[]>, r: FrameReport): void {
  const list = byThread.get(r.thread);
  if (list) list.push(r);
  else byThread.set(r.thread, [r]);
}
