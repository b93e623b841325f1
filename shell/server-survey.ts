/**
 * ServerSurvey: every registered server with its health and load, as the shell's `servers`
 * and `clouds status` print them.
 *
 *   const survey = await surveyServers(directory, (address) => peers.get(address));
 *   for (const line of formatServers(survey)) console.log(line);
 *
 * A server is `up` when the registry sees it up (its lease runs, servers/name/server-
 * registry.ts) and it answers a quick status request (`compute.status`, `data.status`; the
 * name server answered the registry call itself) within `PROBE_TIMEOUT_MS`; otherwise it is
 * `down`, and `why` says which failed. Compute servers add their load (ComputeLoad: every
 * numeric field, printed as it comes, so new load fields show without a change here).
 *
 * While the name server does not answer, the survey is the directory's last known registry
 * (`fresh: false`, printed as a first line), each server still probed. Must not: wait on a
 * server longer than the probe timeout, or fail as a whole because one server is down.
 */
import type { RegisteredServer, ServerDirectory } from "../servers/host/server-directory.js";
import { ComputeClient } from "../servers/compute/protocol.js";
import { DataClient } from "../servers/data/protocol.js";
import type { ServerRole } from "../ra-kernel/ids.js";
import type { Peer } from "../servers/transport/transport.js";
import { within } from "../servers/host/within.js";

/** How long a server has to answer its status probe. */
export const PROBE_TIMEOUT_MS = 1000;

export type Health = "up" | "down";

/** One server as `servers` and `clouds status` show it. */
export interface ServerRow {
  id: string;
  role: ServerRole;
  address: string;
  pid: number;
  health: Health;
  /** Why it is down (empty when up). */
  why: string;
  /** Compute servers: their load fields (running, lagMs, ...). */
  load?: Record<string, number>;
}

export interface ServerSurvey {
  rows: ServerRow[];
  /** False: the name server did not answer; the registry is the one known at `asOf`. */
  fresh: boolean;
  asOf: number;
}

/** Probes every server of the directory's registry, all at once. */
export async function surveyServers(directory: ServerDirectory, connect: (address: string) => Promise<Peer>): Promise<ServerSurvey> {
  const view = await directory.registry();
  const rows = await Promise.all(view.servers.map((s) => surveyOne(s, view.fresh, connect)));
  return { rows: rows.sort((a, b) => a.id.localeCompare(b.id)), fresh: view.fresh, asOf: view.asOf };
}

async function surveyOne(s: RegisteredServer, fresh: boolean, connect: (address: string) => Promise<Peer>): Promise<ServerRow> {
  const row: ServerRow = { id: s.id, role: s.role, address: s.address, pid: s.pid, health: "down", why: "" };
  if (s.state === "down") return { ...row, why: s.stateReason || "its lease ran out" };
  if (s.role === "name") return fresh ? { ...row, health: "up" } : { ...row, why: "it does not answer" };
  try {
    return { ...row, health: "up", load: await within(probe(s, connect), PROBE_TIMEOUT_MS, `none within ${PROBE_TIMEOUT_MS} ms`) };
  } catch (err) {
    return { ...row, why: `no answer to a status request (${(err as Error).message})` };
  }
}

/** The server's status request; resolves to its load (compute) or nothing. */
async function probe(s: RegisteredServer, connect: (address: string) => Promise<Peer>): Promise<Record<string, number> | undefined> {
  const peer = await connect(s.address);
  const options = { timeoutMs: PROBE_TIMEOUT_MS };
  if (s.role === "data") {
    await new DataClient(peer).call("data.status", {}, options);
    return undefined;
  }
  return numericFields((await new ComputeClient(peer).call("compute.status", {}, options)).load);
}

/** The numeric fields of a load record, in its order. */
export function numericFields(load: unknown): Record<string, number> | undefined {
  if (typeof load !== "object" || load === null) return undefined;
  return Object.fromEntries(Object.entries(load).filter(([, v]) => typeof v === "number")) as Record<string, number>;
}

/** The table: a header, one line per server, and a first line when the registry is not fresh. */
export function formatServers(survey: ServerSurvey): string[] {
  const stale = survey.fresh ? [] : [`(name server unreachable: servers as registered at ${new Date(survey.asOf).toISOString()})`];
  return [...stale, ...formatServerTable(survey.rows)];
}

/** A header and one line per server. */
export function formatServerTable(rows: ServerRow[]): string[] {
  return [header(), ...rows.map(formatRow)];
}

function header(): string {
  return `${"id".padEnd(5)} ${"role".padEnd(8)} ${"address".padEnd(22)} ${"pid".padEnd(10)} ${"health".padEnd(6)} load`;
}

export function formatRow(r: ServerRow): string {
  const detail = r.health === "down" ? `(${r.why})` : formatLoad(r.load);
  return `${r.id.padEnd(5)} ${r.role.padEnd(8)} ${r.address.padEnd(22)} ${`pid ${r.pid}`.padEnd(10)} ${r.health.padEnd(6)} ${detail}`.trimEnd();
}

/** `running=0 lagMs=1.2`: every field, numbers rounded to one decimal. */
export function formatLoad(load?: Record<string, number>): string {
  if (!load) return "";
  return Object.entries(load).map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(1)}`).join(" ");
}
