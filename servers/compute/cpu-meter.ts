/**
 * CpuMeter: the CPU this process used recently, in cores (1 = one core busy the whole time),
 * for load reports. Worker threads count: process.cpuUsage covers the whole process.
 *
 *   const cpu = new CpuMeter();   ...   cpu.cores()   // over the last sample period
 *
 * Sampled lazily: a call at least `periodMs` after the last sample starts a new one; calls in
 * between return the last figure (cheap on the invocation path).
 */
export class CpuMeter {
  private last = process.cpuUsage();
  private lastAt = performance.now();
  private figure = 0;

  /** @param periodMs shortest sample period (ms) */
  constructor(private readonly periodMs = 250) {}

  cores(): number {
    const now = performance.now();
    const elapsedMs = now - this.lastAt;
    if (elapsedMs >= this.periodMs) {
      const used = process.cpuUsage(this.last);
      this.figure = Math.round(((used.user + used.system) / 1000 / elapsedMs) * 100) / 100;
      this.last = process.cpuUsage();
      this.lastAt = now;
    }
    return this.figure;
  }
}
