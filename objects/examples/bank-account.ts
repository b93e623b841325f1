/**
 * BankAccount: accounts that invoke each other — a transfer is a nested invocation of the
 * other account, on the same thread, wherever that account's invocation runs.
 *
 *   clouds> load objects/examples/bank-account.ts
 *   clouds> new BankAccount Alice("alice", 100)
 *   clouds> new BankAccount Bob("bob")
 *   clouds> Alice.transfer("Bob", 30)           // by name (or pass the reference: Bob)
 *   70
 *   clouds> Alice.transfer(Bob, 500)
 *   error: InsufficientFundsError: alice has 70, cannot send 500 (at cs1)
 *
 * Balances change under the account's own lock "balance", held only for the check and the
 * update — never across the call to the other account, so two transfers in opposite
 * directions cannot deadlock. The debit happens first (an overdraft is refused before any
 * money moves); if the deposit fails the debit is undone.
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

  /** Moves `amount` to another account (its name, or a reference); this account's new balance. */
  @entry async transfer(to: string | Ref<BankAccount>, amount: number): Promise<number> {
    checkAmount(amount);
    const target = typeof to === "string" ? await this.bind<BankAccount>(to) : to;
    if (target.sysname === this.self.sysname) throw new TypeError(`${this.owner}: cannot transfer to the same account`);
    const left = await this.withLock("balance", () => this.debit(amount));
    try {
      await target.deposit(amount);
    } catch (err) {
      await this.withLock("balance", () => (this.balance += amount));
      throw err;
    }
    await this.print(`${this.owner}: sent ${amount}, balance ${left}`);
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
