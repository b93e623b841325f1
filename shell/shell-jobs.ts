/**
 * ShellJobs: a shell's background threads (`Name.entry(args) &`), numbered from 1 as a Unix
 * shell numbers its jobs. A job is started with its thread id and the promise of its result;
 * when it settles, the listener is told `[N] done: RESULT` or `[N] failed: ERROR`, and the job
 * leaves the running ones. `%N` names a job's thread (kill %N: a running one; trace %N: also
 * one that ended, among the last MAX_ENDED; threads shows the numbers).
 *
 * Rules: numbers are never reused within a session; a job's end is told exactly once.
 */

/** Ended jobs whose thread `trace %N` still finds. */
const MAX_ENDED = 1000;

interface Job {
  number: number;
  thread: string;
  ended: Promise<void>;
}

export class ShellJobs {
  private readonly running = new Map<number, Job>();
  /** Threads of jobs that ended, by number (the last MAX_ENDED), for trace %N. */
  private readonly ended = new Map<number, string>();
  private next = 1;

  constructor(
    /** Told each job's end, as one line. */
    private readonly onEnd: (line: string) => void,
  ) {}

  /** Starts tracking a background thread; its number. `format` renders its result. */
  start(thread: string, result: Promise<unknown>, format: (value: unknown) => string, describeError: (err: unknown) => string): number {
    const number = this.next++;
    const ended = result.then(
      (value) => this.end(number, `[${number}] done: ${value === undefined ? "(no result)" : format(value)}`),
      (err: unknown) => this.end(number, `[${number}] failed: ${describeError(err)}`),
    );
    this.running.set(number, { number, thread, ended });
    return number;
  }

  /** The thread of running job `%N` (`spec` is "%N"), or undefined; with `ended`, also of a job that ended. */
  threadOf(spec: string, options: { ended?: boolean } = {}): string | undefined {
    const m = /^%(\d+)$/.exec(spec);
    if (!m) return undefined;
    const n = Number(m[1]);
    return this.running.get(n)?.thread ?? (options.ended ? this.ended.get(n) : undefined);
  }

  /** Whether job `%N` ran here and ended. */
  hasEnded(spec: string): boolean {
    const m = /^%(\d+)$/.exec(spec);
    return m !== null && !this.running.has(Number(m[1])) && Number(m[1]) < this.next;
  }

  /** The job number of a running thread of this shell, if it is a job. */
  numberOf(thread: string): number | undefined {
    for (const job of this.running.values()) if (job.thread === thread) return job.number;
    return undefined;
  }

  get size(): number {
    return this.running.size;
  }

  /** Resolves once every running job ended, or `ms` passed; the numbers still running then. */
  async settle(ms: number): Promise<number[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([Promise.all([...this.running.values()].map((j) => j.ended)), timeout]);
    clearTimeout(timer);
    return [...this.running.keys()];
  }

  private end(number: number, line: string): void {
    const job = this.running.get(number);
    if (!job) return;
    this.running.delete(number);
    this.ended.set(number, job.thread);
    if (this.ended.size > MAX_ENDED) this.ended.delete(number - MAX_ENDED);
    this.onEnd(line);
  }
}
