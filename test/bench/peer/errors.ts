/**
 * Errors of the peer benchmark.
 */

/**
 * Thrown when a counter's count is not what the acknowledged increments add up to: an
 * update was lost (or applied twice). A benchmark of wrong answers measures nothing, so
 * this fails the benchmark.
 */
export class LostUpdateError extends Error {
  override readonly name = "LostUpdateError";

  constructor(
    readonly counter: string,
    readonly expected: number,
    readonly actual: number,
    readonly workload: string,
  ) {
    super(`${workload}: counter ${counter} reads ${actual} but ${expected} was expected from the acknowledged increments (${actual - expected >= 0 ? "+" : ""}${actual - expected}): an update was lost or applied twice`);
  }
}
