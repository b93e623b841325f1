/**
 * LoadReport: what one compute server says about itself to the others and to workstations
 * (DESIGN §8) — its load, the working set of the objects it holds, and the compute servers
 * it knows to be up. Reports are pushed every few hundred ms (LoadGossip) and a small part
 * of one (ServerLoad, the target's warm pages) rides on every compute.invoke reply.
 *
 * A report is a value: no one acts on it but the LoadTable that merges it. It carries its
 * sender's id and address, so membership is learnt from reports alone (placement keeps
 * working while the name server is unreachable), and an `incarnation` (the sender's start
 * time) with a `seq`, so an old report never overwrites a newer one and a restarted server
 * is told apart from its previous life. Sizes are bounded (MAX_WARM_OBJECTS, MAX_MEMBERS):
 * a report lists the objects with the largest working sets only.
 */
import type { ServerId, SysName } from "../../ra-kernel/ids.js";

/** How busy a compute server is, as it measured itself. */
export interface ServerLoad {
  /** Isibas in progress (running or blocked on a page fault), queued ones included. */
  running: number;
  /** Invocations here not in an isiba: waiting for a monitor, a lock, or their object's load. */
  waiting: number;
  /** Isibas queued behind busy workers (running beyond the worker count). */
  queued: number;
  /** Isiba workers of the server. */
  workers: number;
  /** Event-loop lag (ms, recent). */
  lagMs: number;
  /** CPU used by the whole process over the last report period, in cores (1 = one core busy). */
  cpu: number;
  /** Pages cached readable or writable. */
  cachedPages: number;
}

/** An object whose pages are cached on the reporting server: its working set there, in pages. */
export interface WarmObject {
  object: SysName;
  pages: number;
}

/** A compute server the reporter knows to be up (how membership spreads without the registry). */
export interface MemberInfo {
  id: ServerId;
  address: string;
}

export interface LoadReport {
  server: ServerId;
  /** Where the server listens ("host:port"). */
  address: string;
  /** The server's start time (ms since the epoch): a restarted server has a new one. */
  incarnation: number;
  /** Increases with every report of one incarnation. */
  seq: number;
  load: ServerLoad;
  /** The largest working sets, at most MAX_WARM_OBJECTS, largest first. */
  warm: WarmObject[];
  /** Other compute servers the reporter knows to be up, at most MAX_MEMBERS. */
  members: MemberInfo[];
}

/** Objects listed in one report. */
export const MAX_WARM_OBJECTS = 64;
/** Members listed in one report. */
export const MAX_MEMBERS = 64;

/** A load with nothing running: what a server is assumed to carry before it reported. */
export const IDLE_LOAD: ServerLoad = { running: 0, lagMs: 0, waiting: 0, queued: 0, workers: 1, cpu: 0, cachedPages: 0 };
