/**
 * BigTable: an array-backed store that grows to tens of MiB and pages like one.
 *
 *   clouds> load objects/examples/big-table.ts
 *   clouds> new BigTable T
 *   clouds> T.grow(400000)          // appends 400,000 numbers (0, 1, 2, ...); the new size
 *   400000
 *   clouds> @cs2 T.get(123456)      // faults in the page(s) holding element 123456, not the rest
 *   123456
 *
 * Each element is a 16-byte heap cell, so 3.3 million of them are about 50 MiB. The pages an
 * invocation dirties go home in one commit when it returns, so grow the table in steps of a
 * few MiB (a few hundred thousand elements) rather than all at once. Reading or writing one
 * element touches only the pages that hold it: a compute server that never saw the table
 * fetches a handful of pages for `get(i)`, whatever the table's size.
 */
import { CloudsObject, entry } from "clouds-ts";

/** Elements appended per `push` inside grow (keeps the argument list of push small). */
const CHUNK = 65_536;
/** Most elements one grow call may append (about 16 MiB of cells: one commit). */
const MAX_GROW = 1_000_000;

export class BigTable extends CloudsObject {
  cells: number[] = [];

  /** Appends `n` numbers (each its own index); the new size. */
  @entry grow(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n > MAX_GROW) throw new RangeError(`grow(${n}): n must be an integer in 0..${MAX_GROW}`);
    const cells = this.cells;
    let next = cells.length;
    const end = next + n;
    while (next < end) {
      const chunk: number[] = [];
      for (let k = 0; k < CHUNK && next < end; k++) chunk.push(next++);
      cells.push(...chunk);
    }
    return cells.length;
  }

  @entry get(i: number): number | undefined {
    return this.cells[this.index(i, "get")];
  }

  @entry set(i: number, v: number): void {
    this.cells[this.index(i, "set")] = v;
  }

  @entry size(): number {
    return this.cells.length;
  }

  private index(i: number, what: string): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.cells.length) throw new RangeError(`${what}(${i}): no such element (size ${this.cells.length})`);
    return i;
  }
}
