/**
 * WriteLog: what one commit segment of an isiba wrote, page by page (PageLog) — the only
 * thing its commit sends home (DESIGN §7a).
 *
 * A commit segment runs from the start of an invocation (or its last commit point: a lock,
 * permit or monitor released) to its end (or its next commit point). The isiba worker runs
 * each invocation inside `runLogging(log, fn)`; the MMU (MappedSegment) finds the log of the
 * code that writes with `currentWriteLog()`: AsyncLocalStorage follows the invocation through
 * its awaits, so two invocations interleaved in one worker never log into each other.
 *
 * Writers: the first time a segment logs a page, it adds one to the page's writer count in
 * the frames (SegmentFrames.writers); the kernel takes it off once that segment's commit was
 * answered. So the kernel can tell a home, when it gives a page away, whether the copy holds
 * writes not committed yet (a crash would lose them: the home must know whose they are).
 * Until `take` hands a count to the kernel, the worker's WriterLedger records it, so the
 * kernel can take it off (and drop what it covered) if the worker dies.
 *
 * Broken segments: a page fault that FAILS (its home unreachable, the segment fenced) stops
 * object code in the middle of an access sequence — a push that raised the length but never
 * wrote the element. Such a segment is `broken`: it is aborted instead of committed, even if
 * the entry catches the error (the documented "what an entry wrote before it threw stays"
 * is for the entry's own throws only).
 *
 * Rules: `take` is called by the isiba at a commit point only; what is written afterwards
 * belongs to the next segment. Writes made with no log in scope (tools, unit tests) are not
 * logged, and so never committed; in an isiba worker they are refused (requireWriteLog), as
 * are writes under a log whose invocation has ended (`ended`).
 */
import { HiddenAsyncStore } from "./hidden-async-store.js";
import type { PageNo, SysName } from "./ids.js";
import { PageLog } from "./page-log.js";
import { currentWriterLedger } from "./writer-ledger.js";

/** One segment's writes to one memory segment, in wire form (PageLog.encode), ascending pages. */
export interface SegmentLog {
  segment: SysName;
  pages: { page: PageNo; log: Uint8Array }[];
}

export class WriteLog {
  private segments = new Map<SysName, Map<PageNo, PageLog>>();
  /** The WriterLedger entries of the counts this log added (see WriterLedger). */
  private ledgered: number[] = [];
  /** Raised by `take`: PageLogs handed out before belong to a segment already taken. */
  generation = 0;

  /** Why the segment must be aborted (a page fault failed inside it), or null. */
  broken: string | null = null;

  /** `since`: the kernel's dropMark when the segment began (its faults carry it: fencing). */
  constructor(public since: number) {}

  /**
   * Set once the invocation's last segment was taken (it returned or threw): code still
   * running on its behalf (a promise continuation it did not await) may not write object
   * memory any more, or the write would be seen by others and never committed (MappedSegment).
   */
  ended = false;

  /** Whether (why) the segment so far is broken; the next one starts whole. Call with `take`. */
  takeBroken(): string | undefined {
    const why = this.broken ?? undefined;
    this.broken = null;
    return why;
  }

  /**
   * The log of `page` of `segment`, counted in the page's writer word (`table[writersAt]`, see
   * SegmentFrames) the first time (and in the worker's WriterLedger under `ledgerId`, if it
   * has one, until `take`).
   */
  pageLog(segment: SysName, page: PageNo, table: Int32Array, writersAt: number, ledgerId?: number): PageLog {
    let pages = this.segments.get(segment);
    if (!pages) this.segments.set(segment, (pages = new Map()));
    let log = pages.get(page);
    if (!log) {
      pages.set(page, (log = new PageLog()));
      const ledger = ledgerId === undefined ? undefined : currentWriterLedger();
      if (ledger) this.ledgered.push(ledger.add(ledgerId!, page));
      Atomics.add(table, writersAt, 1);
    }
    return log;
  }

  get empty(): boolean {
    return this.segments.size === 0;
  }

  /** The segment so far in wire form; the log starts over empty. */
  take(): SegmentLog[] {
    const out: SegmentLog[] = [];
    for (const [segment, pages] of this.segments) {
      const sorted = [...pages].sort((a, b) => a[0] - b[0]);
      out.push({ segment, pages: sorted.map(([page, log]) => ({ page, log: log.encode() })) });
    }
    this.segments = new Map();
    this.generation++;
    // The counts travel with the log now: whoever commits it takes them off.
    const ledger = currentWriterLedger();
    for (const at of this.ledgered) ledger?.clear(at);
    this.ledgered = [];
    return out;
  }
}

let needLog = false;

/**
 * From now on a write to a logged segment with no current log is refused (MappedSegment).
 * The isiba worker says so: there, such code is a callback of no invocation (a
 * FinalizationRegistry's, say), whose write no commit would carry. Unit tests write without.
 */
export function requireWriteLog(): void {
  needLog = true;
}

export function writesNeedLog(): boolean {
  return needLog;
}

/** Hidden from object code, which can read what AsyncLocalStorage puts on promises (HiddenAsyncStore). */
const current = new HiddenAsyncStore<WriteLog>();

/** Runs `fn` (and everything it awaits) logging its writes into `log`. */
export function runLogging<T>(log: WriteLog, fn: () => T): T {
  return current.run(log, fn);
}

/** The log of the code running now, if any. */
export function currentWriteLog(): WriteLog | undefined {
  return current.get();
}

/** Marks the segment running now (if any) broken: it will be aborted, not committed (the first reason stays). */
export function breakCurrentSegment(why: string): void {
  const log = current.get();
  if (log) log.broken ??= why;
}
