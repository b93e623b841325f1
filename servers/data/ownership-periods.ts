/**
 * OwnershipPeriods: what each compute server wrote into one page's coherent image while it
 * owned the page, kept by the home until those writes are committed — so that when one
 * server's uncommitted writes must be taken out (it died, or a segment of it aborted), the
 * page can be rebuilt without them and without anyone else's (DESIGN §7a: a crash loses
 * exactly the crashed server's uncommitted segments, nothing else).
 *
 * A period runs from a write grant to the recall that takes the page back. The home keeps
 * the image it granted (`before`; null: the durable image then, untouched by anyone's
 * uncommitted writes) and the bytes the owner returned (`after`), with the page's write stamp
 * at the grant (`start`: every write of the period is stamped above it) and at the recall
 * (`end`: every write of the period is stamped at or below it, every later write above).
 * The words the owner wrote are those that differ — and those whose durable value was
 * committed during the period (a stamp in (start, end]) even if the bytes show them back at
 * their old value: the heap allocator's free-list heads go A -> B -> A (a push commits, the
 * pop after it is in flight), and the period's A is newer than the durable B. Single writer,
 * so no one else wrote the page meanwhile.
 *
 *   rebuild   durable image ⊕ each period still kept, in order: a word the period's owner
 *             wrote (see above) is taken unless the durable image holds a write of it
 *             committed after the period (its stamp above `end`). Periods of the removed
 *             server were dropped first, so its uncommitted words are gone, while every other
 *             server's are kept.
 *             With a null `before`, the period is compared with the durable image now: it
 *             differs from the one at the grant only by words committed since, which are the
 *             owner's own (then taken, harmlessly) or newer than the period (then not taken).
 *   drop      a server's periods go once all its writes in them are committed (a commit with
 *             no writer left, sent at stamp s, drops its periods ending at or below s), or
 *             when its words are to be taken out.
 *
 * Bounded: more than MAX_PERIODS kept for one page (a server with a segment in flight for
 * long while the page moves between others) and the page is marked `lost`: its next rebuild
 * cannot separate the servers' words, so every server with uncommitted writes there is told
 * to abort them (the conservative revert) and the periods start over.
 *
 * Why it is enough for race-free programs: a live server's uncommitted word never depends on
 * a removed server's uncommitted word, except through the heap allocator's own words, whose
 * layout is made so that taking one server's words out only leaks space (objects/heap.ts).
 */
import { PAGE_SIZE } from "../../ra-kernel/ids.js";
import { WORDS_PER_PAGE } from "../../ra-kernel/page-log.js";

/** Periods kept per page before the page falls back on the conservative revert. */
export const MAX_PERIODS = 256;

interface Period {
  holder: string;
  before: Uint8Array | null;
  after: Uint8Array;
  start: number;
  end: number;
}

export class OwnershipPeriods {
  private list: Period[] = [];
  /** Too many periods were kept: the next rebuild cannot separate the servers' words. */
  lost = false;

  get size(): number {
    return this.list.length;
  }

  /** The servers with periods kept. */
  holders(): Set<string> {
    return new Set(this.list.map((p) => p.holder));
  }

  /** Records a period of `holder` granted at stamp `start` that ended at stamp `end` (see header). */
  record(holder: string, before: Uint8Array | null, after: Uint8Array, start: number, end: number): void {
    if (this.lost) return;
    if (this.list.length >= MAX_PERIODS) {
      this.lost = true;
      this.list = [];
      return;
    }
    this.list.push({ holder, before, after, start, end });
  }

  /** Drops `holder`'s periods that ended at or below stamp `upTo` (all of them by default). */
  drop(holder: string, upTo = Infinity): void {
    if (this.list.some((p) => p.holder === holder && p.end <= upTo)) this.list = this.list.filter((p) => p.holder !== holder || p.end > upTo);
  }

  /** Forgets everything (the page was reverted to its durable image). */
  clear(): void {
    this.list = [];
    this.lost = false;
  }

  /**
   * The page's coherent image rebuilt from its durable image and the periods kept (see
   * header), or null if none is kept (the durable image is the coherent one).
   */
  rebuild(durable: Uint8Array, stamps: Float64Array | null): Uint8Array | null {
    if (this.list.length === 0) return null;
    const image = durable.slice();
    for (const p of this.list) applyPeriod(image, durable, stamps, p);
    return image;
  }
}

/** Takes the words `p`'s owner wrote into `image`, unless the durable image has a newer commit of them. */
function applyPeriod(image: Uint8Array, durable: Uint8Array, stamps: Float64Array | null, p: Period): void {
  const before = p.before ?? durable;
  for (let w = 0; w < WORDS_PER_PAGE; w++) {
    const at = w << 2;
    const stamp = stamps === null ? 0 : stamps[w];
    if (stamp > p.end) continue; // committed after the period: newer
    if (stamp <= p.start && sameWord(before, p.after, at)) continue; // not written in it
    image[at] = p.after[at];
    image[at + 1] = p.after[at + 1];
    image[at + 2] = p.after[at + 2];
    image[at + 3] = p.after[at + 3];
  }
}

function sameWord(a: Uint8Array, b: Uint8Array, at: number): boolean {
  return a[at] === b[at] && a[at + 1] === b[at + 1] && a[at + 2] === b[at + 2] && a[at + 3] === b[at + 3];
}

/** Checks that `bytes` can be a period's image (a whole page). */
export function isWholePage(bytes: Uint8Array | null): bytes is Uint8Array {
  return bytes !== null && bytes.length === PAGE_SIZE;
}
