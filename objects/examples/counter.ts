/**
 * Counter: a shared counter that many threads, on any compute servers, may bump at once.
 *
 *   clouds> load objects/examples/counter.ts
 *   clouds> new Counter Hits
 *   clouds> Hits.increment(5)
 *   5
 *   clouds> @cs2 Hits.increment()
 *   6
 *
 * `increment` is an exclusive entry: it holds the object's monitor (arbitrated by the
 * object's home) for the whole invocation, so concurrent increments never lose an update.
 * `read` is not exclusive: readers run at once, on as many compute servers as they like,
 * and DSM shows each of them the latest committed count.
 */
import { CloudsObject, entry } from "clouds-ts";

export class Counter extends CloudsObject {
  count = 0;
  increments = 0;

  @entry({ exclusive: true }) increment(by = 1): number {
    this.count += by;
    this.increments++;
    return this.count;
  }

  @entry read(): number {
    return this.count;
  }

  /** The count and how many increments made it. */
  @entry stats(): { count: number; increments: number } {
    return { count: this.count, increments: this.increments };
  }

  @entry({ exclusive: true }) reset(): void {
    this.count = 0;
    this.increments = 0;
  }
}
