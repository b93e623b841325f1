/**
 * clusterStatus: `clouds status` — every server of a cluster directory with its role,
 * address, pid, health and load, found from disk and probed over HTTP.
 *
 *   const { rows, leases } = await clusterStatus(".clouds");
 *   formatServerTable(rows);    // the same table as the shell's `servers`
 *
 * The servers are the census (cluster-census.ts: cluster.json and the live holders of state
 * directory locks), so a cluster whose name server is dead still gets a status, plus any
 * server the name server's registry knows that the census does not (another machine). A
 * server is up when its process runs, it answers GET /health within PROBE_TIMEOUT_MS and
 * the registry does not see its lease down (the name server's /api/status says, when it
 * answers: `leases` is false when it did not). Compute servers add their load from
 * /api/status. A workstation's directory (cluster.json with only `nameServer`: `clouds join`)
 * has no census: every server comes from that name server's registry. Must not: start, stop
 * or change anything.
 */
import type { ServerRole } from "../ra-kernel/ids.js";
import { takeCensus, type CensusEntry } from "./cluster-census.js";
import { readCluster, readToken } from "./cluster-file.js";
import { numericFields, PROBE_TIMEOUT_MS, type ServerRow } from "./server-survey.js";

/** What the name server's /api/status says of one registered server. */
interface Lease {
  id: string;
  role: ServerRole;
  address: string;
  httpAddress: string;
  pid: number;
  state: "up" | "down";
  reason: string;
}

export interface ClusterStatus {
  rows: ServerRow[];
  /** True when the name server answered with its registry (lease states are known). */
  leases: boolean;
}

export async function clusterStatus(dir: string): Promise<ClusterStatus> {
  const census = takeCensus(dir);
  const nameServer = census.entries.length === 0 ? readCluster(dir).nameServer : undefined;
  const token = readToken(dir);
  const registry = await leasesOf(census.entries, token, nameServer);
  const leases = new Map((registry ?? []).map((l) => [l.id, l]));
  const known = new Set(census.entries.map((e) => e.id as string));
  const rows = await Promise.all([
    ...census.entries.map((e) => probeEntry(e, token, leases.get(e.id))),
    ...[...leases.values()].filter((l) => !known.has(l.id)).map((l) => probeRow(rowOf(l), l.httpAddress, token, l)),
  ]);
  return { rows, leases: registry !== null };
}

function rowOf(s: { id: string; role: ServerRole; address: string; pid: number }): ServerRow {
  return { id: s.id, role: s.role, address: s.address, pid: s.pid, health: "down", why: "" };
}

function probeEntry(entry: CensusEntry, token: string, lease: Lease | undefined): Promise<ServerRow> {
  const server = entry.live ? { ...(entry.recorded ?? entry), pid: entry.live.pid, address: entry.live.address ?? entry.recorded?.address ?? "" } : entry.recorded!;
  const row = rowOf(server);
  if (!entry.live) return Promise.resolve({ ...row, why: "not running" });
  return probeRow(row, server.address, token, lease);
}

/** Up when /health answers and the lease (if known) runs; load from /api/status. */
async function probeRow(row: ServerRow, httpAddress: string, token: string, lease: Lease | undefined): Promise<ServerRow> {
  try {
    const health = await get(httpAddress, "/health", token);
    if (!health.ok) return { ...row, why: `GET /health: HTTP ${health.status}` };
  } catch (err) {
    return { ...row, why: `no answer to GET /health (${(err as Error).message})` };
  }
  if (lease?.state === "down") return { ...row, why: `registry: ${lease.reason}` };
  if (row.role !== "compute") return { ...row, health: "up" };
  const status = (await (await get(httpAddress, "/api/status", token)).json().catch(() => ({}))) as { load?: unknown };
  return { ...row, health: "up", load: numericFields(status.load) };
}

/** The registry of the census's live name server (else of `fallback`, a workstation's), or null if it does not answer. */
async function leasesOf(entries: CensusEntry[], token: string, fallback?: string): Promise<Lease[] | null> {
  const address = entries.find((e) => e.role === "name" && e.live?.address)?.live?.address ?? fallback;
  if (!address) return null;
  try {
    const status = (await (await get(address, "/api/status", token)).json()) as { registry?: Lease[] };
    return Array.isArray(status.registry) ? status.registry : null;
  } catch {
    return null;
  }
}

function get(address: string, path: string, token: string): Promise<Response> {
  return fetch(`http://${address}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
}
