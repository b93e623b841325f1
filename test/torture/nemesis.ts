/**
 * Nemesis: kills servers of every role with -9 while the clients run, and restores them.
 *
 * Every `killEveryMs` (each wait drawn in [0.5, 1.5] of it) it picks a role — compute 45 %,
 * data 35 %, name 20 % — and a server of that role, kills it, sometimes (one time in five)
 * a second server of another role at once, waits up to `downMs`, then restores the cluster
 * (TortureCluster.restore). Kills are counted by role; a restore that needed more than one
 * try, or failed, is counted too (a cluster that cannot be restored ends the run's kills).
 */
import type { ServerRole } from "../../ra-kernel/ids.js";
import type { TortureCluster } from "./torture-cluster.js";
import type { Random } from "./random.js";

export interface NemesisStats {
  kills: Record<ServerRole, number>;
  restores: number;
  /** Restores that needed more than one `clouds up`. */
  retriedRestores: number;
  /** What made a restore fail for good (the nemesis stops after one). */
  failures: string[];
  /** "t=12.3s kill -9 ds2 (pid 123)" lines, in order. */
  events: string[];
  /** When (`now()`, ms) each kill of a data server was made, in order. */
  dataKillsAt: number[];
}

export class Nemesis {
  readonly stats: NemesisStats = { kills: { name: 0, data: 0, compute: 0 }, restores: 0, retriedRestores: 0, failures: [], events: [], dataKillsAt: [] };

  constructor(
    private readonly cluster: TortureCluster,
    private readonly random: Random,
    private readonly options: { killEveryMs: number; downMs: number; now: () => number; log: (line: string) => void },
  ) {}

  async run(stopped: () => boolean): Promise<void> {
    if (this.options.killEveryMs <= 0) return;
    while (!stopped()) {
      await sleepUnless(this.options.killEveryMs * (0.5 + this.random.next()), stopped);
      if (stopped()) return;
      await this.killSome();
      await sleepUnless(this.random.between(100, Math.max(100, this.options.downMs)), () => false);
      if (!(await this.restore())) return;
    }
  }

  private async killSome(): Promise<void> {
    const first = this.pickRole();
    const roles = this.random.chance(0.2) ? [first, this.pickRole(first)] : [first];
    await Promise.all(roles.map((role) => this.killOne(role)));
  }

  private pickRole(not?: ServerRole): ServerRole {
    for (;;) {
      const d = this.random.next();
      const role: ServerRole = d < 0.45 ? "compute" : d < 0.8 ? "data" : "name";
      if (role !== not) return role;
    }
  }

  private async killOne(role: ServerRole): Promise<void> {
    const victim = this.random.pick(this.cluster.servers().filter((s) => s.role === role));
    this.event(`kill -9 ${victim.id} (pid ${victim.pid})`);
    if (role === "data") this.stats.dataKillsAt.push(this.options.now());
    await this.cluster.kill(victim.id);
    this.stats.kills[role]++;
  }

  /** Brings every dead server back; false (and a failure recorded) if it cannot. */
  private async restore(): Promise<boolean> {
    try {
      const tries = await this.cluster.restore();
      this.stats.restores++;
      if (tries > 1) this.stats.retriedRestores++;
      this.event(`restored${tries > 1 ? ` after ${tries} tries` : ""}`);
      return true;
    } catch (err) {
      this.stats.failures.push((err as Error).message);
      this.event(`RESTORE FAILED: ${(err as Error).message.split("\n")[0]}`);
      return false;
    }
  }

  private event(what: string): void {
    const line = `t=${(this.options.now() / 1000).toFixed(1)}s ${what}`;
    this.stats.events.push(line);
    this.options.log(`  nemesis: ${line}`);
  }
}

/** Sleeps `ms`, waking early (every 100 ms) once `stopped()` is true. */
async function sleepUnless(ms: number, stopped: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !stopped()) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}
