/**
 * HolderLeases: how long the home must assume a compute server may still use its pages.
 *
 * A compute server renews its lease with each home it is connected to every leaseMs / 8
 * (`data.lease.renew`) and stops using a home's pages when its own view of the lease runs
 * out (it measures from the moment it SENT the renewal, so its view always ends before ours,
 * and it checks at every renewal tick, so it has acted within leaseMs / 8 after that).
 *
 * The home takes a holder's pages back without its consent — it died (socket closed), cannot
 * answer a recall, or its renewals stopped arriving (a partition: `lapsed`, polled by the
 * home) — only once the lease has run out plus that margin. Pages and locks go together:
 * the lease is the one failure detector of both. A holder that failed a recall is *suspect*: its renewals are refused from then on
 * (so its lease really does run out even if it is alive and keeps renewing), until the home
 * has taken its pages and `revoke`d the lease: that starts a new *term*. A compute server
 * that sees its term change knows its lease was revoked and drops the home's pages first.
 *
 * Times are process-local monotonic (performance.now): only durations cross processes.
 */
export const LEASE_MS = 3000;

interface Lease {
  renewedAt: number;
  term: number;
  suspect: boolean;
  /** Reported by `lapsed` since its last renewal (so it is taken back once per lapse). */
  lapsed: boolean;
}

export class HolderLeases {
  private readonly leases = new Map<string, Lease>();

  constructor(readonly leaseMs = LEASE_MS) {}

  /** How long after the lease ends the holder has surely acted on it (its check period). */
  get marginMs(): number {
    return this.leaseMs / 8 + 5;
  }

  /** Renews the holder's lease; null if refused (it is suspect). Returns the lease's term. */
  renew(holder: string): number | null {
    const lease = this.leases.get(holder);
    if (!lease) {
      this.leases.set(holder, { renewedAt: performance.now(), term: 1, suspect: false, lapsed: false });
      return 1;
    }
    if (lease.suspect) return null;
    lease.renewedAt = performance.now();
    lease.lapsed = false;
    return lease.term;
  }

  /** The holder failed to answer: refuse its renewals until `revoke`. */
  suspect(holder: string): void {
    const lease = this.leases.get(holder);
    if (lease) lease.suspect = true;
  }

  /** Its pages were taken back: a new term starts, renewals are accepted again (until one comes, it counts as lapsed). */
  revoke(holder: string): void {
    const lease = this.leases.get(holder);
    if (!lease) return;
    lease.term++;
    lease.suspect = false;
    lease.lapsed = true;
  }

  term(holder: string): number {
    return this.leases.get(holder)?.term ?? 0;
  }

  /** Milliseconds until the holder's lease has surely run out and been acted on (0 if it has). */
  remainingMs(holder: string): number {
    const lease = this.leases.get(holder);
    if (!lease) return 0;
    return Math.max(0, lease.renewedAt + this.leaseMs + this.marginMs - performance.now());
  }

  /**
   * Resolves once the holder's lease has run out (and it has had time to notice) — or, at
   * the latest, once its term is no longer `term` (given): someone took its pages back and
   * revoked it, and the renewals it may send from then on are of a new term, which must not
   * hold this wait up for ever.
   */
  async expired(holder: string, term?: number): Promise<void> {
    // Renewals accepted while we wait push the end back: wait again until none did.
    for (let ms = this.remainingMs(holder); ms > 0 && (term === undefined || this.term(holder) === term); ms = this.remainingMs(holder)) {
      await new Promise((resolve) => setTimeout(resolve, Math.ceil(ms) + 1));
    }
  }

  /** Holders whose lease has run out (and been acted on) since their last renewal: each once. */
  lapsed(): string[] {
    const out: string[] = [];
    for (const [holder, lease] of this.leases) {
      if (lease.lapsed || this.remainingMs(holder) > 0) continue;
      lease.lapsed = true;
      out.push(holder);
    }
    return out;
  }

  forget(holder: string): void {
    this.leases.delete(holder);
  }
}
