/**
 * ShellJobs: a shell's background threads (`Name.entry(args) &`), numbered from 1 as a Unix
 * shell numbers its jobs. A job is started with its thread id and the promise of its result;
 * when it settles, the listener is told `[N] done: RESULT` or `[N] failed: ERROR`, and the job
 * is forgotten. `%N` names a running job's thread (kill %N; threads shows the numbers).
 *
 * Rules: numbers are never reused within a session; a job's end is told exactly once.
 */

interface Job {
  number: number;
  thread: string;
  ended: Promise<void>;
}

export class ShellJobs {
  private readonly running = new Map<number, Job>();
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

  /** The thread of running job `%N` (`spec` is "%N"), or undefined. */
  threadOf(spec: string): string | undefined {
    const m = /^%(\d+)$/.exec(spec);
    return m ? this.running.get(Number(m[1]))?.thread : undefined;
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
    if (!this.running.delete(number)) return;
    this.onEnd(line);
  }
}
