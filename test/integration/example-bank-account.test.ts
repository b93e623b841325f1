/**
 * The BankAccount example (objects/examples/bank-account.ts) on a real cluster: a transfer
 * invokes the other account (by name or by a reference passed in), across compute servers;
 * overdrafts are refused with the error's class, message and server; transfers in both
 * directions at once neither deadlock nor lose money.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { CloudsError } from "../../ra-kernel/clouds-error.js";
import { expectRejection } from "../support/expect-rejection.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { BankAccount } from "../../objects/examples/bank-account.js";

const BANK = path.join(REPO_ROOT, "objects/examples/bank-account.ts");

describe("BankAccount example (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;
  let made = 0;

  before(async () => {
    cluster = await TestCluster.start({ compute: 2 });
    client = await cluster.connect();
    client.on("print", () => undefined);
    await client.load(BANK);
  });

  after(async () => {
    await cluster?.stop();
  });

  async function account(owner: string, opening: number) {
    return client.create<BankAccount>("BankAccount", `${owner}${++made}`, [owner, opening]);
  }

  it("should transfer to an account named or passed as a reference, across compute servers", async () => {
    const alice = await account("alice", 100);
    const bob = await account("bob", 0);
    expect(await alice.at("cs1").transfer(`bob${made}`, 30)).to.equal(70);
    expect(await alice.at("cs2").transfer(bob, 20)).to.equal(50);
    expect(await bob.at("cs1").balanceOf()).to.equal(50);
    expect(await alice.at("cs2").balanceOf()).to.equal(50);
  });

  it("should check constructor arguments as entry arguments: a missing owner or a wrong type is refused before anything is created", async () => {
    const missing = await cluster.exec("new BankAccount Carol");
    expect(missing.stderr).to.match(/^error: ArgumentError: BankAccount\.constructor takes 1 to 2 arguments \(owner: string, opening\?: any\), got 0 \(at cs\d\)\n$/);
    const typed = await cluster.exec("new BankAccount Carol(42)");
    expect(typed.stderr).to.match(/ArgumentError: BankAccount\.constructor: argument 1 'owner' must be a string, got number/);
    expect(await client.lookup("/Carol"), "nothing bound").to.equal(null);
    expect((await cluster.exec("new BankAccount Carol('carol', 5)")).code).to.equal(0);
  });

  it("should refuse an overdraft with InsufficientFundsError and move no money", async () => {
    const alice = await account("alice", 10);
    const bob = await account("bob", 5);
    const err = await expectRejection(alice.at("cs2").transfer(bob, 11), CloudsError);
    expect(err.name).to.equal("InsufficientFundsError");
    expect(err.message).to.equal("alice has 10, cannot send 11");
    expect(err.server).to.equal("cs2");
    expect([await alice.balanceOf(), await bob.balanceOf()]).to.deep.equal([10, 5]);
  });

  it("should keep the total through concurrent transfers both ways on both servers, never below zero", async () => {
    const alice = await account("alice", 50);
    const bob = await account("bob", 50);
    const moves = [];
    for (let i = 0; i < 20; i++) {
      const [from, to] = i % 2 === 0 ? [alice, bob] : [bob, alice];
      moves.push(from.at(i % 4 < 2 ? "cs1" : "cs2").transfer(to, 1 + (i % 7) * 5).then(() => "ok", (e: Error) => e.name));
    }
    const outcomes = await Promise.all(moves);
    expect(outcomes.every((o) => o === "ok" || o === "InsufficientFundsError"), outcomes.join(",")).to.equal(true);
    const [a, b] = [await alice.balanceOf(), await bob.balanceOf()];
    expect(a + b).to.equal(100);
    expect(a).to.be.at.least(0);
    expect(b).to.be.at.least(0);
  });

  it("should print the transfer at the shell that started it", async () => {
    await account("carol", 40);
    const carol = `carol${made}`;
    await account("dave", 0);
    const r = await cluster.exec(`@cs1 ${carol}.transfer(dave${made}, 15)`);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim().split("\n")).to.deep.equal(["carol: sent 15, balance 25", "25"]);
  });
});
