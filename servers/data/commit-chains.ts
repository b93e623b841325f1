/**
 * CommitChains: the order in which one compute server's commits of one object are decided at
 * the home, and the refusal cascade that lets that server pipeline them (early lock release).
 *
 * A compute server that caches an exclusive entry's monitor hands it to its next local
 * invocation as soon as the previous one's commit is *sent* (ra-kernel/monitor-cache.ts): the
 * next one may read words of a commit that is not decided yet, and its own commit follows on
 * the same connection. So here:
 *   order     the commits of one writer for one object are decided in the order they arrived
 *             (one connection: the order they were sent), each only after the one before it —
 *             a later one never overtakes an earlier one that waits for its pages' locks;
 *   cascade   once one is refused, every later one the writer sent before it learned so is
 *             refused too: it may rest on words that never committed. The refusal's reply
 *             carries the chain's count of refusals (`refused`); the writer sends the count it
 *             last learned with each commit (`seen`), and a commit whose `seen` is below the
 *             count was sent before it knew. The writer aborts, on its side, every segment of
 *             the object begun before it learned (DsmClient: objectLosses).
 * A commit without `seen` (a writer that never pipelines) is ordered but never cascaded.
 *
 * Chains are per lease term: a new term (the holder was dropped, or reconnected) starts
 * afresh on both sides, so counts never have to be reconciled after a lost reply. A chain
 * with nothing in flight and no refusal is forgotten at once; one with refusals is kept, its
 * count monotonic, until its writer's term ends (forgetWriter).
 *
 * Rules: `enter` in the order commits arrive (synchronously on receipt); every ticket is
 * decided exactly once (`decide`, or `abandon` when its commit threw: no cascade then).
 */

interface Chain {
  /** Settles when the last commit entered so far is decided. */
  tail: Promise<void>;
  refused: number;
  inFlight: number;
}

/** One commit's place in its chain. */
export interface ChainTicket {
  /** Resolves when every commit before it in the chain is decided. */
  readonly turn: Promise<void>;
  /** Whether a refusal it was sent before it knew of precedes it (call once its turn came). */
  cascaded(seen: number | undefined): boolean;
  /** It was decided: applied (ordered) or refused. Returns the chain's refusal count. */
  decide(applied: boolean): number;
  /** It failed without a decision (an error): the next goes on, nothing cascades. */
  abandon(): void;
}

export class CommitChains {
  private readonly chains = new Map<string, Chain>();

  /** Chains kept now (metrics, tests). */
  get size(): number {
    return this.chains.size;
  }

  /** Places a commit of `writer` under lease `term` for `object` at the end of its chain. */
  enter(writer: string, term: number, object: string): ChainTicket {
    const key = chainKey(writer, term, object);
    let chain = this.chains.get(key);
    if (!chain) this.chains.set(key, (chain = { tail: Promise.resolve(), refused: 0, inFlight: 0 }));
    const c = chain;
    const turn = c.tail;
    let settle!: () => void;
    c.tail = new Promise<void>((resolve) => (settle = resolve));
    c.inFlight++;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      c.inFlight--;
      settle();
      if (c.inFlight === 0 && c.refused === 0 && this.chains.get(key) === c) this.chains.delete(key);
    };
    return {
      turn,
      cascaded: (seen) => seen !== undefined && seen < c.refused,
      decide: (applied) => {
        if (!done && !applied) c.refused++;
        finish();
        return c.refused;
      },
      abandon: finish,
    };
  }

  /** `writer`'s lease term ended: its chains of that term mean nothing any more. */
  forgetWriter(writer: string): void {
    const prefix = `${writer}\u0000`;
    // Commits still in flight keep their chain object; any of that term that arrives later is
    // refused for its term anyway.
    for (const key of [...this.chains.keys()]) if (key.startsWith(prefix)) this.chains.delete(key);
  }
}

function chainKey(writer: string, term: number, object: string): string {
  return `${writer}\u0000${term}\u0000${object}`;
}
