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
 */
import type { PageReport } from "./client/cluster.js";

export function formatPageReport(r: PageReport): string[] {
  const roles = new Map<string, string>(Object.entries(r.descriptor.segments).map(([role, s]) => [s, role]));
  const servers = [...r.cached.keys()].sort();
  const head = [`home ${r.descriptor.home} (epoch ${r.epoch}): ${r.pages.length} page${r.pages.length === 1 ? "" : "s"} served`];
  const rows: string[][] = [["segment", "page", "version", "owner", "copyset", "stored", ...servers]];
  for (const p of r.pages) {
    const held = servers.map((id) => {
      const cached = r.cached.get(id)!;
      if (cached instanceof Error) return "?";
      const c = cached.find((x) => x.segment === p.segment && x.page === p.page);
      return !c || c.state === "invalid" ? "-" : `${c.state} v${c.version}${c.workingSet ? "+" : ""}`;
    });
    rows.push([roles.get(p.segment) ?? p.segment, String(p.page), String(p.version), p.owner ?? "-", p.copyset.join(",") || "-", String(p.storedVersion), ...held]);
  }
  const unreachable = servers.filter((id) => r.cached.get(id) instanceof Error).map((id) => `  ${id}: not reachable (${(r.cached.get(id) as Error).message})`);
  return [...head, ...table(rows), ...workingSets(r, servers), ...unreachable, ...locks(r)];
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
