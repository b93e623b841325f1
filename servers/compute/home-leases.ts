/**
 * HomeLeases: the compute server's side of its leases with the data servers it is connected
 * to (see servers/data/holder-leases.ts for the home's side).
 *
 * Every leaseMs / 8 it renews with each connected home. A renewal sent at time t and answered
 * extends our lease to t + leaseMs — measured from the SEND, so our view ends before the
 * home's. At each tick, a home whose lease has run out has all its pages dropped here: the
 * home may already have given them to someone else. So do pages of a home whose answer
 * carries a new lease *term* (it revoked our lease: we failed to answer a recall in time).
 * A renewal the home refuses (LeaseRevokedError) extends nothing, so the lease runs out.
 */
import createDebug from "debug";
import type { ServerId } from "../../ra-kernel/ids.js";

const log = createDebug("servers:compute:lease");

export interface LeaseHolder {
  /** Homes we are connected to (the leases worth keeping). */
  homes(): ServerId[];
  /** Renews with a home; resolves with its epoch, lease length and our lease's term. */
  renew(home: ServerId): Promise<{ epoch: number; leaseMs: number; term: number }>;
  /** Our lease with `home` ran out or was revoked: drop its pages. */
  expired(home: ServerId, why: string): void;
}

/** Lease length assumed until a home announces its own (ms). */
const DEFAULT_LEASE_MS = 3000;

export class HomeLeases {
  private readonly until = new Map<ServerId, number>();
  private readonly terms = new Map<ServerId, number>();
  private leaseMs = DEFAULT_LEASE_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly holder: LeaseHolder) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * A fresh connection to `home`, which we began to open at `openedAt`, started a lease (the
   * home renews it when it accepts the connection, which is after `openedAt`).
   */
  began(home: ServerId, openedAt: number): void {
    this.until.set(home, openedAt + this.leaseMs);
  }

  forget(home: ServerId): void {
    this.until.delete(home);
    this.terms.delete(home);
  }

  /** When our lease with `home` ends (performance.now() ms), if one is running. */
  endsAt(home: ServerId): number | undefined {
    return this.until.get(home);
  }

  private schedule(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), this.leaseMs / 8);
    this.timer.unref();
  }

  private tick(): void {
    const now = performance.now();
    for (const home of this.holder.homes()) {
      const until = this.until.get(home);
      if (until !== undefined && now > until) {
        log("lease with %s ran out", home);
        this.holder.expired(home, "our lease with it ran out");
        this.until.delete(home);
      }
      void this.renew(home, now);
    }
  }

  private async renew(home: ServerId, sentAt: number): Promise<void> {
    try {
      const { leaseMs, term } = await this.holder.renew(home);
      const known = this.terms.get(home);
      this.terms.set(home, term);
      if (known !== undefined && known !== term) this.holder.expired(home, `it revoked our lease (term ${known} -> ${term})`);
      this.until.set(home, Math.max(this.until.get(home) ?? 0, sentAt + leaseMs));
      if (leaseMs !== this.leaseMs) {
        this.leaseMs = leaseMs;
        this.schedule();
      }
    } catch (err) {
      log("renewing with %s failed: %s", home, (err as Error).message);
    }
  }
}
