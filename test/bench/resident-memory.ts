/**
 * Resident memory of a process, from /proc/<pid>/status (Linux only).
 *
 *   const kb = residentKb(pid);   // VmRSS in kB, or null (no such process, no /proc)
 */
import { readFileSync } from "node:fs";

export function residentKb(pid: number): number | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return match ? Number(match[1]) : null;
}

/** kB as /proc counts them (1024 bytes) to MB (10^6 bytes, as targets are stated). */
export function kbToMb(kb: number): number {
  return (kb * 1024) / 1e6;
}

/** " 123.4 MB". */
export function formatMb(kb: number): string {
  return `${kbToMb(kb).toFixed(1).padStart(6)} MB`;
}
