/**
 * How `pages NAME` prints a PageReport: one row per page the home has served, one column per
 * compute server (`+`: in the object's working set there, used within its last window),
 * the working set's size on each, then the object's locks.
 *
 *   home ds1 (epoch 3): 2 pages served
 *   segment  page  version  owner  copyset   stored  cs1        cs2
 *   data        0        7  cs1    cs1            6  write v7+  -
 *   heap        0        3  -      cs1,cs2        3  read v3    read v3
 *   working set (pages used in the last window, +): cs1 1, cs2 0
 *
 * That is `all`. By default (a 50 MiB object has some 12,800 pages) runs of consecutive
 * pages of a segment in the same state — owner, copyset, how each server holds them — are
 * one row each, with their page range and the range of their versions:
 *
 *   segment  pages          versions  owner  copyset  stored  cs1      cs2
 *   heap     0-12799 (12800)  1..2      -      cs1      1..2    read+    -
 */
import type { PageReport } from "./client/cluster.js";
import type { PageInfo } from "../servers/data/protocol.js";
import type { CachedPageInfo } from "../servers/compute/protocol.js";

export function formatPageReport(r: PageReport, options: { all?: boolean } = {}): string[] {
  return options.all ? everyPage(r) : summary(r);
}

/** One row per run of consecutive pages of a segment alike but for their versions. */
function summary(r: PageReport): string[] {
  const roles = new Map<string, string>(Object.entries(r.descriptor.segments).map(([role, s]) => [s, role]));
  const servers = [...r.cached.keys()].sort();
  const held = (p: PageInfo) => servers.map((id) => heldState(r, id, p, false));
  const runs: { first: PageInfo; last: PageInfo; key: string; versions: number[]; stored: number[]; cells: string[] }[] = [];
  for (const p of r.pages) {
    const cells = held(p);
    const key = [p.segment, p.owner ?? "-", p.copyset.join(","), ...cells].join("|");
    const run = runs.at(-1);
    if (run && run.key === key && run.last.segment === p.segment && run.last.page + 1 === p.page) {
      run.last = p;
      run.versions.push(p.version);
      run.stored.push(p.storedVersion);
    } else runs.push({ first: p, last: p, key, versions: [p.version], stored: [p.storedVersion], cells });
  }
  const rows: string[][] = [["segment", "pages", "versions", "owner", "copyset", "stored", ...servers]];
  for (const run of runs) {
    const n = run.last.page - run.first.page + 1;
    const pages = n === 1 ? String(run.first.page) : `${run.first.page}-${run.last.page} (${n})`;
    rows.push([roles.get(run.first.segment) ?? run.first.segment, pages, span(run.versions), run.first.owner ?? "-", run.first.copyset.join(",") || "-", span(run.stored), ...run.cells]);
  }
  const head = `home ${r.descriptor.home} (epoch ${r.epoch}): ${r.pages.length} page${r.pages.length === 1 ? "" : "s"} served, in ${runs.length} run${runs.length === 1 ? "" : "s"} of pages alike (pages --all: one row per page)`;
  return [head, ...table(rows), ...workingSets(r, servers), ...unreachableLines(r, servers), ...locks(r)];
}

/** `3`, or `1..7`. */
function span(values: number[]): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? String(lo) : `${lo}..${hi}`;
}

/** How compute server `id` holds page `p`: "-", "?" (not asked), or its state, with its version when `version`. */
function heldState(r: PageReport, id: string, p: PageInfo, version: boolean): string {
  const cached = r.cached.get(id)!;
  if (cached instanceof Error) return "?";
  const c = indexOf(cached).get(`${p.segment}#${p.page}`);
  if (!c || c.state === "invalid") return "-";
  return `${c.state}${version ? ` v${c.version}` : ""}${c.workingSet ? "+" : ""}`;
}

const indexes = new WeakMap<CachedPageInfo[], Map<string, CachedPageInfo>>();

/** A server's copies by `segment#page` (made once: objects have thousands of pages). */
function indexOf(cached: CachedPageInfo[]): Map<string, CachedPageInfo> {
  let index = indexes.get(cached);
  if (!index) indexes.set(cached, (index = new Map(cached.map((c) => [`${c.segment}#${c.page}`, c]))));
  return index;
}

function unreachableLines(r: PageReport, servers: string[]): string[] {
  return servers.filter((id) => r.cached.get(id) instanceof Error).map((id) => `  ${id}: not reachable (${(r.cached.get(id) as Error).message})`);
}

function everyPage(r: PageReport): string[] {
  const roles = new Map<string, string>(Object.entries(r.descriptor.segments).map(([role, s]) => [s, role]));
  const servers = [...r.cached.keys()].sort();
  const head = [`home ${r.descriptor.home} (epoch ${r.epoch}): ${r.pages.length} page${r.pages.length === 1 ? "" : "s"} served`];
  const rows: string[][] = [["segment", "page", "version", "owner", "copyset", "stored", ...servers]];
  for (const p of r.pages) {
    const held = servers.map((id) => heldState(r, id, p, true));
    rows.push([roles.get(p.segment) ?? p.segment, String(p.page), String(p.version), p.owner ?? "-", p.copyset.join(",") || "-", String(p.storedVersion), ...held]);
  }
  return [...head, ...table(rows), ...workingSets(r, servers), ...unreachableLines(r, servers), ...locks(r)];
}

function workingSets(r: PageReport, servers: string[]): string[] {
  const sizes = servers.flatMap((id) => {
    const cached = r.cached.get(id);
    return cached instanceof Error || !cached ? [] : [`${id} ${cached.filter((c) => c.workingSet && c.state !== "invalid").length}`];
  });
  return sizes.length === 0 ? [] : [`working set (pages used in the last window, +): ${sizes.join(", ")}`];
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const numeric = new Set([1, 2, 5]);
  return rows.map((row) => row.map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join("  ").trimEnd());
}

function locks(r: PageReport): string[] {
  if (r.locks.length === 0) return ["locks: none"];
  return [
    "locks:",
    ...r.locks.map((l) => {
      const holders = l.holders.map((h) => `${h.atomic ? "atomic thread " : ""}${h.thread}@${h.server}${h.count > 1 ? ` x${h.count}` : ""}`).join(", ");
      const parts = [
        ...(l.kind === "semaphore" ? [`${l.available} permit(s) left`] : []),
        holders ? `held by ${holders}` : l.kind === "semaphore" ? "" : "free",
        l.waiting.length ? `${l.waiting.length} waiting` : "",
      ];
      return `  ${l.kind} '${l.key}': ${parts.filter(Boolean).join(", ")}`;
    }),
  ];
}
