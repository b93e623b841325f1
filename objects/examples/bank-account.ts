/**
 * BankAccount: accounts that invoke each other. `transfer` is an ATOMIC entry: the debit here
 * and the deposit in the other account (a nested invocation on the same thread) commit
 * together or not at all — whatever throws, whichever server dies meanwhile — and no other
 * thread sees the money in flight.
 *
 *   clouds> load objects/examples/bank-account.ts
 *   clouds> new BankAccount Alice("alice", 100)
 *   clouds> new BankAccount Bob("bob")
 *   clouds> Alice.transfer("Bob", 30)           // by name (or pass the reference: Bob)
 *   70
 *   clouds> Alice.transfer(Bob, 500)
 *   error: InsufficientFundsError: alice has 70, cannot send 500 (at cs1)
 *
 * No refund logic: if the deposit throws, the debit is rolled back with everything else the
 * thread wrote. Two transfers in opposite directions at once cannot deadlock: the homes
 * arbitrate atomic threads by age (wound-wait) and the younger is run again. `deposit` and
 * `withdraw` called on their own are plain entries under the account's lock "balance".
 */
import { CloudsObject, entry, type Ref } from "clouds-ts";

/** Thrown when an account would go below zero. */
export class InsufficientFundsError extends Error {
  override name = "InsufficientFundsError";
}

export class BankAccount extends CloudsObject {
  owner = "";
  balance = 0;

  constructor(owner: string, opening = 0) {
    super();
    this.owner = owner;
    this.balance = checkAmount(opening, true);
  }

  @entry async deposit(amount: number): Promise<number> {
    checkAmount(amount);
    return this.withLock("balance", () => (this.balance += amount));
  }

  @entry async withdraw(amount: number): Promise<number> {
    checkAmount(amount);
    return this.withLock("balance", () => this.debit(amount));
  }

  @entry balanceOf(): number {
    return this.balance;
  }

  /** Moves `amount` to another account (its name, or a reference), atomically; this account's new balance. */
  @entry({ atomic: true }) async transfer(to: string | Ref<BankAccount>, amount: number): Promise<number> {
    checkAmount(amount);
    const target = typeof to === "string" ? await this.bind<BankAccount>(to) : to;
    if (target.sysname === this.self.sysname) throw new TypeError(`${this.owner}: cannot transfer to the same account`);
    const left = this.debit(amount);
    await target.deposit(amount);
    await this.print(`${this.owner}: sent ${amount}, balance ${left}`); // output is not rolled back: an attempt run again prints again
    return left;
  }

  private debit(amount: number): number {
    if (amount > this.balance) throw new InsufficientFundsError(`${this.owner} has ${this.balance}, cannot send ${amount}`);
    return (this.balance -= amount);
  }
}

function checkAmount(amount: number, zeroOk = false): number {
  if (!Number.isFinite(amount) || amount < 0 || (!zeroOk && amount === 0)) throw new RangeError(`an amount must be a positive number, got ${amount}`);
  return amount;
}
