/**
 * PidLockFile: a file that says "the process P holds this", created exclusively.
 *
 *   const got = PidLockFile.tryAcquire(file, { id: "ds1" });
 *   if (got.holder) throw ...;              // another live process holds it: a value, not an error
 *   got.lock.update({ address });           // more facts for readers (clouds down, repair)
 *   got.lock.release();                     // on a clean stop (also done at process exit)
 *
 * The file is JSON: the holder's pid, its start time (so a recycled pid is not taken for the
 * holder), when it took the lock, and what it says of itself. It appears complete or not at
 * all (written aside, then hard-linked into place, which fails if the file exists).
 *
 * A lock whose holder is gone (dead, a zombie, or its pid recycled) is stale and is taken
 * over. Removing a file that is not one's own happens only inside the guard directory
 * `<file>.takeover` (mkdir is atomic), and the taker creates its own lock before leaving
 * the guard, so two takers never both win. A guard older than GUARD_STALE_MS was left by a
 * crash inside it and is removed.
 *
 * Only the holder releases or updates its lock, and only while the file is still its own.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { isSameProcess, startTimeOf } from "./process-liveness.js";

/** What a lock file says: who holds it, since when, and the holder's own facts `M`. */
export type LockHolder<M extends object = Record<string, unknown>> = M & {
  pid: number;
  /** The holder's start time (see process-liveness.ts); null where unknown. */
  startTime: string | null;
  /** ISO time the lock was taken. */
  since: string;
};

export type Acquired<M extends object> = { lock: PidLockFile<M>; holder?: undefined } | { lock?: undefined; holder: LockHolder<M> };

const GUARD_STALE_MS = 10_000;
const GUARD_WAIT_MS = 20;
const MAX_ATTEMPTS = 250;

/** Locks this process holds: released at exit, whatever the exit path. */
const held = new Set<PidLockFile<object>>();
process.on("exit", () => {
  for (const lock of [...held]) lock.release();
});

export class PidLockFile<M extends object> {
  private constructor(
    readonly file: string,
    private content: LockHolder<M>,
  ) {
    held.add(this);
  }

  /** Takes the lock, taking over a stale one; or names the live process that holds it. */
  static tryAcquire<M extends object>(file: string, meta: M): Acquired<M> {
    const mine = { ...meta, pid: process.pid, startTime: startTimeOf(process.pid), since: new Date().toISOString() } as LockHolder<M>;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (createExclusive(file, mine)) return { lock: new PidLockFile(file, mine) };
      const holder = PidLockFile.read<M>(file);
      if (holder && isLive(holder)) return { holder };
      if (takeOver(file, mine)) return { lock: new PidLockFile(file, mine) };
    }
    throw new Error(`could not lock ${file}: its takeover guard stayed busy`);
  }

  /** The live holder of `file`, or null (no file, unreadable, or its holder is gone). */
  static holder<M extends object>(file: string): LockHolder<M> | null {
    const holder = PidLockFile.read<M>(file);
    return holder && isLive(holder) ? holder : null;
  }

  /** What the file says, live holder or not; null if there is none or it is unreadable. */
  static read<M extends object>(file: string): LockHolder<M> | null {
    try {
      const parsed = JSON.parse(readFileSync(file, "utf8")) as LockHolder<M>;
      return Number.isInteger(parsed.pid) ? parsed : null;
    } catch {
      return null;
    }
  }

  get holder(): LockHolder<M> {
    return this.content;
  }

  /** Adds facts to the file (written aside, renamed over it: readers see old or new). */
  update(facts: Partial<M>): void {
    if (!this.isMine()) return;
    this.content = { ...this.content, ...facts };
    const tmp = asideName(this.file);
    writeFileSync(tmp, JSON.stringify(this.content) + "\n");
    renameSync(tmp, this.file);
  }

  /** Removes the file if it is still this lock's; idempotent. */
  release(): void {
    if (!held.delete(this)) return;
    if (this.isMine()) rmSync(this.file, { force: true });
  }

  private isMine(): boolean {
    const now = PidLockFile.read(this.file);
    return now?.pid === this.content.pid && now.startTime === this.content.startTime && now.since === this.content.since;
  }
}

function isLive(holder: LockHolder<object>): boolean {
  return isSameProcess(holder.pid, holder.startTime ?? null);
}

/** Creates `file` with `content` unless it exists (link of a complete file aside). */
function createExclusive(file: string, content: object): boolean {
  const tmp = asideName(file);
  writeFileSync(tmp, JSON.stringify(content) + "\n", { flag: "wx" });
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Inside the guard: if `file` is still stale, replaces it with `mine`. False if not done. */
function takeOver(file: string, mine: object): boolean {
  const guard = `${file}.takeover`;
  if (!enterGuard(guard)) return false;
  try {
    const holder = PidLockFile.read(file);
    if (holder && isLive(holder)) return false;
    rmSync(file, { force: true });
    return createExclusive(file, mine);
  } finally {
    rmdirSync(guard);
  }
}

function enterGuard(guard: string): boolean {
  try {
    mkdirSync(guard);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    if (ageMs(guard) > GUARD_STALE_MS) rmSync(guard, { recursive: true, force: true });
    else sleepSync(GUARD_WAIT_MS);
    return false;
  }
}

function ageMs(file: string): number {
  try {
    return Date.now() - statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function asideName(file: string): string {
  return `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
