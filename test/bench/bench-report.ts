/**
 * BenchReport: where benchmarks put what they found — figure lines, printed at once, and
 * targets (PASS/MISS), summed up at the end of the run.
 *
 *   report.line(formatLatency("socket.io round trip", rtt));
 *   report.target("null invocation p50 <= 1.5x socket.io RTT", ratio <= 1.5, `${ratio.toFixed(2)}x`);
 *
 * A missed target is a finding, not a failure: it never changes the exit code.
 */

export interface TargetResult {
  name: string;
  met: boolean;
  detail: string;
}

export class BenchReport {
  private readonly targets: TargetResult[] = [];

  constructor(private readonly print: (line: string) => void = (l) => console.log(l)) {}

  line(text: string): void {
    this.print(text);
  }

  target(name: string, met: boolean, detail: string): void {
    this.targets.push({ name, met, detail });
  }

  /** One line per target recorded so far. */
  printSummary(): void {
    if (this.targets.length === 0) return;
    this.print("");
    this.print("targets");
    for (const t of this.targets) this.print(`  ${t.met ? "PASS" : "MISS"}  ${t.name.padEnd(52)} ${t.detail}`);
  }
}
