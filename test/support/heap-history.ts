/**
 * HeapHistory: several compute servers allocating and freeing in one object's persistent
 * heap (objects/heap.ts), each step a commit segment of its own, logged word by word with
 * stamps as the MMU logs it (WriteLog, PageLog). Segments commit in order per server (what
 * heap.ts asks of recovery: no committed segment built on a removed one of its server); a
 * block is freed only once the segment that allocated it has committed (as DeferredFrees
 * makes it), by any server (any may detach it). Then a test takes away what recovery takes
 * away — a crashed server's in-flight segments, or an aborted segment with its server's later
 * in-flight ones — rebuilds the heap image from what is left (applyPageLog), and checks it
 * (test/objects/heap.test.ts).
 *
 * Every server's Heap maps the same frames (one coherent memory, as DSM gives them); the
 * page stamps in those frames order every write, as grants hand them from owner to owner.
 */
import { Heap } from "../../objects/heap.js";
import { MAGIC as DATA_MAGIC, SLOT as FIELD_SLOT, TABLE as FIELD_TABLE, VERSION as DATA_VERSION } from "../../objects/persistent-store.js";
import { PAGE_SIZE } from "../../ra-kernel/ids.js";
import { applyPageLog, WORDS_PER_PAGE } from "../../ra-kernel/page-log.js";
import { PageState } from "../../ra-kernel/page-state.js";
import { runLogging, WriteLog, type SegmentLog } from "../../ra-kernel/write-log.js";
import type { TestSegment } from "./object-memory.js";

/** One step: a commit segment of one server. */
export interface Step {
  server: string;
  log: SegmentLog[];
  committed: boolean;
  /** The payload it allocated, if it allocated. */
  allocated?: number;
  /** The payload it freed, if it freed. */
  freed?: number;
}

/** Which steps recovery keeps. */
export type Keep = (step: Step) => boolean;

export class HeapHistory {
  readonly steps: Step[] = [];
  private readonly heaps = new Map<string, Heap>();
  /** Per server, its steps not committed yet, oldest first. */
  private readonly inFlight = new Map<string, Step[]>();
  /** Payloads that committed steps allocated and no step freed yet. */
  private readonly freeable: number[] = [];
  /** Payloads the fields reached when the history started, and the heap then. */
  private base: number[] = [];
  private baseImage = new Uint8Array(0);

  /** `allocatorOf`: the identity a server's Heap allocates as (the same for all: shared lists). */
  constructor(readonly seg: TestSegment, readonly servers: string[], private readonly allocatorOf = (server: string) => server) {
    for (const s of servers) this.restart(s);
  }

  /** A fresh Heap for `server` (as after a restart: nothing cached). */
  restart(server: string): void {
    this.heaps.set(server, new Heap(this.seg.mem, this.allocatorOf(server)));
    this.inFlight.set(server, []);
  }

  /** One random step: an allocation, a free of a committed block, or the commit of a server's oldest segment. */
  randomStep(r: (n: number) => number): void {
    const server = this.servers[r(this.servers.length)];
    const what = r(10);
    if (what < 3 && this.inFlight.get(server)!.length > 0) this.commitOldest(server);
    else if (what < 6 && this.freeable.length > 0) this.free(server, this.freeable.splice(r(this.freeable.length), 1)[0]);
    else this.alloc(server, randomSize(r));
  }

  alloc(server: string, size: number): number {
    const payload = this.segment(server, () => {
      const p = this.heaps.get(server)!.alloc(size);
      this.seg.mem.setU32(p, 0xdead0000 + this.steps.length); // the value it holds (over a free list's link)
      return p;
    });
    this.steps.at(-1)!.allocated = payload;
    return payload;
  }

  free(server: string, payload: number): void {
    this.segment(server, () => this.heaps.get(server)!.freeNow(payload));
    this.steps.at(-1)!.freed = payload;
  }

  commitOldest(server: string): void {
    const step = this.inFlight.get(server)!.shift()!;
    step.committed = true;
    if (step.allocated !== undefined) this.freeable.push(step.allocated);
  }

  /** The server's steps still in flight, oldest first. */
  inFlightOf(server: string): Step[] {
    return [...this.inFlight.get(server)!];
  }

  /**
   * The heap image recovery builds: every kept step's words applied in stamp order (per word,
   * the highest stamp wins: applyPageLog) over the image the history started from.
   */
  image(keep: Keep): Uint8Array {
    const pages = new Map<number, { bytes: Uint8Array; stamps: Float64Array }>();
    for (const step of this.steps.filter(keep)) {
      for (const { page, log } of step.log.flatMap((s) => s.pages)) {
        let p = pages.get(page);
        if (!p) pages.set(page, (p = { bytes: this.basePage(page), stamps: new Float64Array(WORDS_PER_PAGE) }));
        applyPageLog(log, p.bytes, p.stamps);
      }
    }
    const out = new Uint8Array(this.seg.mem.maxBytes); // the whole segment, as the home keeps it
    out.set(this.baseImage);
    for (const [page, p] of pages) out.set(p.bytes, page * PAGE_SIZE);
    return out;
  }

  private basePage(page: number): Uint8Array {
    const out = new Uint8Array(PAGE_SIZE);
    out.set(this.baseImage.subarray(page * PAGE_SIZE, (page + 1) * PAGE_SIZE));
    return out;
  }

  /** Payloads reached at the start or allocated by kept steps, that no step freed: what the fields still reach. */
  reached(keep: Keep): number[] {
    const live = new Set(this.base);
    for (const step of this.steps) {
      if (step.freed !== undefined) live.delete(step.freed); // detached by a committed segment, even if the free is lost
      if (step.allocated !== undefined && keep(step)) live.add(step.allocated);
    }
    return [...live];
  }

  /**
   * Starts over from `image` (say what recovery built): the frames hold it (the rest zeros),
   * `reached` are the blocks the fields reach (freeable from now on); every step is forgotten.
   */
  startFrom(image: Uint8Array, reached: number[]): void {
    for (let p = 0; p < this.seg.frames.spanPages; p++) {
      this.seg.frames.install(p, p * PAGE_SIZE < image.length ? image.subarray(p * PAGE_SIZE) : null, PageState.WRITE);
    }
    this.steps.length = 0;
    for (const s of this.servers) this.inFlight.set(s, []);
    this.base = [...reached];
    this.baseImage = image.slice();
    this.freeable.length = 0;
    this.freeable.push(...reached);
  }

  /** Runs `fn` as a commit segment of `server`, in flight until committed. */
  private segment<T>(server: string, fn: () => T): T {
    const log = new WriteLog(0);
    const result = runLogging(log, fn);
    const step: Step = { server, log: log.take(), committed: false };
    this.steps.push(step);
    this.inFlight.get(server)!.push(step);
    return result;
  }
}

/** Mostly small blocks, some of a page or more. */
function randomSize(r: (n: number) => number): number {
  const kind = r(20);
  if (kind === 0) return 4000 + r(6000);
  if (kind < 4) return 200 + r(1800);
  return 1 + r(200);
}

/**
 * A data segment image whose fields reach exactly these heap blocks (each is a field's name,
 * one byte long; the values are undefined), so the checker counts every other USED block as
 * leaked and any of these found free, on a free list, or twice as a violation.
 */
export function fieldsReaching(payloads: number[]): Uint8Array {
  const out = new Uint8Array(FIELD_TABLE + FIELD_SLOT * payloads.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, DATA_MAGIC, true);
  view.setUint32(4, DATA_VERSION, true);
  view.setUint32(8, payloads.length, true);
  payloads.forEach((p, i) => {
    view.setUint32(FIELD_TABLE + FIELD_SLOT * i, p, true);
    view.setUint32(FIELD_TABLE + FIELD_SLOT * i + 4, 1, true);
  });
  return out;
}
