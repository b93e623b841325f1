/**
 * Tests of bankVerdict (test/torture/bank-loop.ts): what the accounts of the torture's bank
 * must show after the run, given what the clients were told.
 */
import { expect } from "chai";
import { bankVerdict, outcomeViolations, type BankLog } from "./bank-loop.js";

const log = (acked: string[], failed: string[] = [], refused: string[] = []): BankLog =>
  ({ acked, failed: failed.map((id) => ({ id, error: "ServerUnreachableError: lost" })), refused });

describe("outcomeViolations", () => {
  it("should name a failed transfer whose outcome disagrees with the accounts", () => {
    const states = [{ applied: ["-f1", "+f2"] }, { applied: ["+f1", "-f2"] }];
    const said = new Map([["f1", "committed"], ["f2", "aborted"], ["f3", "aborted"]]);
    expect(outcomeViolations(states, said)).to.deep.equal(["bank: outcome() says failed transfer f2 aborted, the accounts say committed"]);
  });
});

describe("bankVerdict", () => {
  it("should pass when money is conserved and every acknowledged transfer is there once, both sides", () => {
    const states = [{ balance: 95, applied: ["-b0.1", "+b1.1"] }, { balance: 105, applied: ["+b0.1", "-b1.1", "-b1.2", "+b1.2"] }];
    expect(bankVerdict(states, 200, log(["b0.1", "b1.1"], ["b1.2"]))).to.deep.equal([]);
  });

  it("should name money not conserved and a balance below zero", () => {
    expect(bankVerdict([{ balance: -1, applied: [] }, { balance: 100, applied: [] }], 100, log([]))).to.deep.equal([
      "bank: money not conserved: the accounts hold 99, not 100",
      "bank: account 0 is at -1",
    ]);
  });

  it("should name an acknowledged transfer missing, half applied, or applied twice", () => {
    const states = [{ balance: 100, applied: ["-b0.2", "-b0.3", "+b0.3", "-b0.3", "+b0.3"] }];
    expect(bankVerdict(states, 100, log(["b0.1", "b0.2", "b0.3"]))).to.deep.equal([
      "bank: acknowledged transfer b0.1 applied 0 debit(s) and 0 credit(s)",
      "bank: acknowledged transfer b0.2 applied 1 debit(s) and 0 credit(s)",
      "bank: acknowledged transfer b0.3 applied 2 debit(s) and 2 credit(s)",
    ]);
  });

  it("should allow a failed transfer none or once, whole, and nothing of a refused overdraft or of a transfer nobody sent", () => {
    const states = [{ balance: 100, applied: ["-f1", "+f1", "-f2", "+r1", "-x9"] }];
    expect(bankVerdict(states, 100, log([], ["f0", "f1", "f2"], ["r1"]))).to.deep.equal([
      "bank: failed transfer f2 (ServerUnreachableError: lost) applied 1 debit(s) and 0 credit(s)",
      "bank: overdraft r1 was refused but applied",
      "bank: -x9 is in an account's log but no client sent it",
    ]);
  });
});
