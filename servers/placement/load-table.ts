/**
 * LoadTable: what one process (a compute server or a workstation) knows of the compute
 * servers — who is up, their load and where each object's working set is warm — from the
 * reports it received, the replies it got, the registry and its own failures. Every
 * placement decision of the process reads it; nothing else is consulted (DESIGN §8).
 *
 *   table.merge(report)                    a LoadReport pushed by a server
 *   table.noteReply(server, load, warm)    what a compute.invoke reply said
 *   table.noteMember(id, address)          the registry (or a report's members) lists a server
 *   table.markDead(id)                     we could not reach it: no placement goes there
 *   table.candidates() / table.warmOn(obj) what policies read
 *
 * Rules:
 * - Ages are measured on this process's clock when the information arrived; a report older
 *   than `reportTtlMs` no longer counts (its server's load and working sets are unknown),
 *   a server not heard of for `memberTtlMs` leaves the table.
 * - A report never overwrites a newer one of the same incarnation (seq), nor one of a later
 *   incarnation.
 * - A dead mark is cleared only by a report from the server itself, by a listing at another
 *   address (a repaired server on a new port), or by its expiry after `deadTtlMs` — never by
 *   another server's second-hand list, which may not have noticed yet.
 * - Sizes: one entry per server; per server the objects of its last report plus those noted
 *   from replies since (replaced at each report).
 */
import type { ServerId, SysName } from "../../ra-kernel/ids.js";
import type { LoadReport, ServerLoad } from "./load-report.js";
import { resolvePlacementOptions, type PlacementOptions, type ResolvedPlacementOptions } from "./placement-options.js";

/** One compute server as a policy sees it. */
export interface Candidate {
  id: ServerId;
  address: string;
  /** Its latest load, unless too old or never heard. */
  load?: ServerLoad;
  /** Calls this process has in flight there now. */
  inflight: number;
}

/** One server where an object's working set was seen warm. */
export interface WarmSighting {
  server: ServerId;
  pages: number;
  /** How long ago this was seen (ms). */
  ageMs: number;
}

interface Entry {
  id: ServerId;
  address: string;
  /** When we last heard of the server at all. */
  seenAt: number;
  load?: ServerLoad;
  loadAt: number;
  incarnation: number;
  seq: number;
  /** object -> pages warm there, when that was seen, and when a reply of it last came from there (0: never). */
  warm: Map<SysName, { pages: number; at: number; ran: number }>;
}

interface DeadMark {
  address: string;
  at: number;
}

export class LoadTable {
  readonly options: ResolvedPlacementOptions;
  private readonly entries = new Map<ServerId, Entry>();
  private readonly dead = new Map<ServerId, DeadMark>();
  private readonly inflight = new Map<ServerId, number>();

  constructor(options: PlacementOptions = {}, private readonly now: () => number = () => performance.now()) {
    this.options = resolvePlacementOptions(options);
  }

  /** Merges a report its sender pushed; clears the sender's dead mark (it is up). */
  merge(report: LoadReport): void {
    const at = this.now();
    const e = this.entry(report.server, report.address, at);
    if (report.incarnation < e.incarnation || (report.incarnation === e.incarnation && report.seq <= e.seq)) return;
    // A new incarnation (the server restarted): its old figures mean nothing any more.
    e.load = report.incarnation === e.incarnation ? smoothed(e.load, e.loadAt, report.load, at) : report.load;
    e.incarnation = report.incarnation;
    e.seq = report.seq;
    e.loadAt = at;
    const before = e.warm;
    e.warm = new Map(report.warm.map((w) => [w.object, { pages: w.pages, at, ran: before.get(w.object)?.ran ?? 0 }]));
    this.dead.delete(report.server);
    for (const m of report.members) this.noteMember(m.id, m.address);
  }

  /** A compute.invoke reply: the server's load now and, if given, the target's pages there. */
  noteReply(server: ServerId, address: string | undefined, load: ServerLoad, warm?: { object: SysName; pages: number }): void {
    const at = this.now();
    const e = this.entry(server, address ?? this.entries.get(server)?.address ?? "", at);
    e.load = smoothed(e.load, e.loadAt, load, at);
    e.loadAt = at;
    if (warm) e.warm.set(warm.object, { pages: warm.pages, at, ran: at });
  }

  /** The registry or a report lists `id` at `address` (second-hand: does not revive a dead mark at that address). */
  noteMember(id: ServerId, address: string): void {
    const mark = this.dead.get(id);
    if (mark && mark.address !== address && address !== "") this.dead.delete(id);
    const e = this.entries.get(id);
    if (e && e.address !== address && address !== "") e.warm.clear();
    this.entry(id, address, this.now());
  }

  /** `id` could not be reached: keep placements away from it until it shows up again. */
  markDead(id: ServerId): void {
    const address = this.entries.get(id)?.address ?? "";
    this.dead.set(id, { address, at: this.now() });
    const e = this.entries.get(id);
    if (e) {
      e.load = undefined;
      e.warm.clear();
    }
  }

  isDead(id: ServerId): boolean {
    const mark = this.dead.get(id);
    if (!mark) return false;
    if (this.now() - mark.at < this.options.deadTtlMs) return true;
    this.dead.delete(id);
    return false;
  }

  /** The address of a server we know of (dead or not), if any. */
  addressOf(id: ServerId): string | undefined {
    const a = this.entries.get(id)?.address;
    return a === "" ? undefined : a;
  }

  /** Servers placement may choose: known, with an address, not dead. */
  candidates(): Candidate[] {
    const now = this.now();
    const out: Candidate[] = [];
    for (const e of this.entries.values()) {
      if (now - e.seenAt > this.options.memberTtlMs) {
        this.entries.delete(e.id);
        continue;
      }
      if (e.address === "" || this.isDead(e.id)) continue;
      const fresh = e.load !== undefined && now - e.loadAt <= this.options.reportTtlMs;
      out.push({ id: e.id, address: e.address, load: fresh ? e.load : undefined, inflight: this.inflight.get(e.id) ?? 0 });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Live servers where `object` was seen warm within reportTtlMs: first where this caller's
   * last call of it ran (our replies say), then the largest working set, then the most
   * recently seen. Ordered by size alone, pages an object left behind where it ran before
   * (read copies, a creation's spare pages) tie with or outweigh those where it runs now,
   * and the sighting a report refreshed last wins: an object moved off a busy server came
   * straight back, and 32 hot objects on two servers moved on a quarter of their calls.
   * So an object stays where it runs until that server is overloaded (the policy), and
   * stays where it went.
   */
  warmOn(object: SysName): WarmSighting[] {
    const now = this.now();
    const out: (WarmSighting & { ran: number })[] = [];
    for (const e of this.entries.values()) {
      const w = e.warm.get(object);
      if (!w || w.pages <= 0 || now - w.at > this.options.reportTtlMs || this.isDead(e.id)) continue;
      out.push({ server: e.id, pages: w.pages, ageMs: now - w.at, ran: w.ran });
    }
    const last = Math.max(0, ...out.map((w) => w.ran));
    out.sort((a, b) => Number(b.ran === last && last > 0) - Number(a.ran === last && last > 0) || b.pages - a.pages || a.ageMs - b.ageMs);
    return out.map(({ server, pages, ageMs }) => ({ server, pages, ageMs }));
  }

  /** Counts a call sent to `id` until the returned function is called. */
  begin(id: ServerId): () => void {
    this.inflight.set(id, (this.inflight.get(id) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.inflight.get(id) ?? 1) - 1;
      if (n <= 0) this.inflight.delete(id);
      else this.inflight.set(id, n);
    };
  }

  /** Servers known, for reports' member lists: not dead, with an address. */
  members(): { id: ServerId; address: string }[] {
    return this.candidates().map(({ id, address }) => ({ id, address }));
  }

  /** Each known server with the age of what we know (ms) and whether it is marked dead (status, tests). */
  snapshot(): { id: ServerId; address: string; ageMs: number; loadAgeMs: number | null; dead: boolean; warmObjects: number }[] {
    const now = this.now();
    return [...this.entries.values()].map((e) => ({
      id: e.id, address: e.address, ageMs: now - e.seenAt, loadAgeMs: e.load ? now - e.loadAt : null, dead: this.isDead(e.id), warmObjects: e.warm.size,
    }));
  }

  private entry(id: ServerId, address: string, at: number): Entry {
    let e = this.entries.get(id);
    if (!e) this.entries.set(id, (e = { id, address, seenAt: at, loadAt: 0, incarnation: 0, seq: -1, warm: new Map() }));
    if (address !== "") e.address = address;
    e.seenAt = at;
    return e;
  }
}

/**
 * How long a load figure takes to count (ms): the score's running, lag and CPU parts are
 * averaged over about this long (replies arrive every few hundred µs under load, each with
 * the isibas running at that instant). Instant figures made two saturated servers take turns
 * being "well above the lightest", and warm objects moved on a quarter of their calls.
 */
const LOAD_SMOOTHING_MS = 300;

/** `next`, with the score's parts averaged with `prev` (seen at `prevAt`) by their ages. */
function smoothed(prev: ServerLoad | undefined, prevAt: number, next: ServerLoad, at: number): ServerLoad {
  if (!prev) return next;
  const w = 1 - Math.exp(-Math.max(0, at - prevAt) / LOAD_SMOOTHING_MS);
  const mix = (a: number, b: number) => a + (b - a) * w;
  return { ...next, running: mix(prev.running, next.running), lagMs: mix(prev.lagMs, next.lagMs), cpu: mix(prev.cpu, next.cpu) };
}
