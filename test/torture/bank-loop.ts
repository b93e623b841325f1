/**
 * BankLoop: a torture client moving money between AtomicAccount objects (test/fixtures/
 * atomic-account.ts) with atomic transfers, at random compute servers, while the nemesis
 * kills servers; and bankVerdict, what the accounts must show afterwards (issue 12):
 *   - money exactly conserved, no balance below zero;
 *   - every acknowledged transfer applied exactly once: its debit in the sender's log and its
 *     deposit in the receiver's, once each;
 *   - every failed one applied zero times or once, as a whole (both sides or neither) — and
 *     the way `Cluster.outcome` says it went (outcomeViolations).
 * The accounts are spread over the data servers: a transfer between two homes commits with
 * two-phase commit (ra-kernel/two-phase-commit.ts); one in three runs its deposit on another
 * compute server, a branch of the thread there (ra-kernel/atomic-branches.ts).
 */
import type { Remote } from "../../shell/client/remote.js";
import type { AtomicAccount } from "../fixtures/atomic-account.js";
import type { Random } from "./random.js";

const PAUSE_AFTER_ERROR_MS = [50, 400] as const;

/** What the loops did. */
export interface BankLog {
  acked: string[];
  /** `thread`: the invocation's thread id (Cluster.outcome asks by it). */
  failed: { id: string; error: string; thread?: string }[];
  /** Refused by the entry itself (an overdraft): nothing may have moved. */
  refused: string[];
}

export class BankLoop {
  private seq = 0;

  constructor(
    readonly id: number,
    private readonly accounts: Remote<AtomicAccount>[],
    private readonly computeIds: string[],
    private readonly log: BankLog,
    private readonly random: Random,
  ) {}

  async run(stopped: () => boolean): Promise<void> {
    while (!stopped()) {
      const ok = await this.step();
      if (!ok && !stopped()) await new Promise((r) => setTimeout(r, this.random.between(...PAUSE_AFTER_ERROR_MS)));
    }
  }

  private async step(): Promise<boolean> {
    const n = this.accounts.length;
    const from = this.random.int(n);
    const to = (from + 1 + this.random.int(n - 1)) % n;
    const id = `b${this.id}.${++this.seq}`;
    const at = this.random.chance(0.8) ? this.random.pick(this.computeIds) : undefined;
    const sender = at ? this.accounts[from].at(at) : this.accounts[from];
    // One in three deposits runs on a compute server of its own: a branch of the thread there.
    const via = this.random.chance(1 / 3) ? this.random.pick(this.computeIds) : undefined;
    const amount = 1 + this.random.int(5);
    try {
      await (via === undefined ? sender.transfer(this.accounts[to], amount, id) : sender.transferVia(this.accounts[to], amount, id, via));
      this.log.acked.push(id);
      return true;
    } catch (err) {
      const e = err as Error;
      // An overdraft is the entry's own answer: nothing may have moved.
      if (e.name === "InsufficientFundsError") this.log.refused.push(id);
      else this.log.failed.push({ id, error: `${e.name}: ${e.message}`.slice(0, 160), thread: (err as { threadId?: string }).threadId });
      return e.name === "InsufficientFundsError";
    }
  }
}

/**
 * What the cluster says of each failed transfer (`outcomes`, by id: "committed" or "aborted")
 * against what the accounts show: a violation wherever they disagree.
 */
export function outcomeViolations(states: { applied: string[] }[], outcomes: Map<string, string>): string[] {
  const debited = new Set(states.flatMap((s) => s.applied.filter((a) => a.startsWith("-")).map((a) => a.slice(1))));
  const out: string[] = [];
  for (const [id, said] of outcomes) {
    const applied = debited.has(id) ? "committed" : "aborted";
    if (said !== applied) out.push(`bank: outcome() says failed transfer ${id} ${said}, the accounts say ${applied}`);
  }
  return out;
}

/** Every violation of the bank's invariants (see header); empty when all hold. */
export function bankVerdict(states: { balance: number; applied: string[] }[], total: number, log: BankLog): string[] {
  const out: string[] = [];
  const sum = states.reduce((s, x) => s + x.balance, 0);
  if (sum !== total) out.push(`bank: money not conserved: the accounts hold ${sum}, not ${total}`);
  states.forEach((s, i) => s.balance < 0 && out.push(`bank: account ${i} is at ${s.balance}`));
  const count = new Map<string, number>();
  for (const s of states) for (const a of s.applied) count.set(a, (count.get(a) ?? 0) + 1);
  for (const id of log.acked) {
    const [debits, credits] = [count.get(`-${id}`) ?? 0, count.get(`+${id}`) ?? 0];
    if (debits !== 1 || credits !== 1) out.push(`bank: acknowledged transfer ${id} applied ${debits} debit(s) and ${credits} credit(s)`);
  }
  for (const { id, error } of log.failed) {
    const [debits, credits] = [count.get(`-${id}`) ?? 0, count.get(`+${id}`) ?? 0];
    if (debits !== credits || debits > 1) out.push(`bank: failed transfer ${id} (${error}) applied ${debits} debit(s) and ${credits} credit(s)`);
  }
  for (const id of log.refused) {
    if (count.has(`-${id}`) || count.has(`+${id}`)) out.push(`bank: overdraft ${id} was refused but applied`);
  }
  const sent = new Set([...log.acked, ...log.failed.map((f) => f.id), ...log.refused]);
  for (const a of count.keys()) if (!sent.has(a.slice(1))) out.push(`bank: ${a} is in an account's log but no client sent it`);
  return out;
}
