/**
 * CPU pinning for benchmarks (taskset, Linux): where processes run changes what a round trip
 * costs. On this 2-vCPU VM, two processes ping-ponging on one CPU wake each other for
 * ~12 µs a round trip (plain TCP); on different CPUs for ~66 µs (each wake-up crosses vCPUs).
 *
 *   pin(pid, 0);      // every thread of pid on CPU 0
 *   pinAll(pid);      // every thread of pid on every CPU again
 */
import { execFileSync } from "node:child_process";
import * as os from "node:os";

/** taskset: all threads of `pid` on every CPU again. */
export function pinAll(pid: number): void {
  execFileSync("taskset", ["-a", "-p", "-c", `0-${os.cpus().length - 1}`, String(pid)], { stdio: "ignore" });
}

/** taskset: all threads of `pid` on `cpu`. */
export function pin(pid: number, cpu: number): void {
  execFileSync("taskset", ["-a", "-p", "-c", String(cpu), String(pid)], { stdio: "ignore" });
}
