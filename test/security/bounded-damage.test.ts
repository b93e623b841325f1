/**
 * Bounded damage (issue 15) on a real cluster: a class can waste only its own invocation's
 * CPU time and memory. Each of Wrecker's entries (test/fixtures/wrecker.ts) — an endless
 * loop under a deadline, an endless recursion, an endless heap allocation, typed arrays
 * without end (outside the heap: the WorkerWatch), the same held across syscalls, a flood of
 * unhandled rejections, code left running after its invocation returned, a result too big
 * to send — fails only its own call, with a clear error, while an invocation of another
 * object (Vault) on the same compute server answers meanwhile, and the server serves on.
 * One compute server, two isiba workers with small heaps (64 MiB).
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { Vault } from "../fixtures/vault.js";
import type { Wrecker } from "../fixtures/wrecker.js";

const FIXTURES = path.join(REPO_ROOT, "test/fixtures");

describe("object code isolation: bounded damage (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;
  let vault: Remote<Vault>;
  let wrecker: Remote<Wrecker>;

  before(async () => {
    cluster = await TestCluster.start({ compute: 1, workers: 2, workerHeapMb: 64 });
    client = await cluster.connect();
    await client.load(path.join(FIXTURES, "vault.ts"));
    await client.load(path.join(FIXTURES, "wrecker.ts"));
    vault = await client.create<Vault>("Vault", "vault", []);
    wrecker = await client.create<Wrecker>("Wrecker", "wrecker", []);
  });

  after(async () => {
    await cluster?.stop();
  });

  afterEach(async () => {
    expect(await vault.check(), "the other object is whole").to.include({ ok: true, secret: "VVVV-the-vault-secret" });
    expect(await wrecker.count(), "the server serves the wrecker itself on").to.be.a("number");
  });

  /**
   * Runs `waste` and, once it has started, an invocation of the Vault: the Vault must answer
   * while the waste is still going (or be run again, untouched, if it was queued behind it).
   */
  async function besideVault(waste: () => Promise<unknown>): Promise<Error> {
    let ended = false;
    const outcome = waste().then(
      (value) => new Error(`the waste returned ${JSON.stringify(value)}`),
      (err: Error) => err,
    ).finally(() => (ended = true));
    // The waste's frame is on the server before the Vault's call leaves.
    for (;;) {
      const { frames } = await client.threads();
      if (frames.some((f) => f.entry !== "peek")) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await vault.peek()).to.equal("VVVV-the-vault-secret");
    const vaultFirst = !ended;
    const err = await outcome;
    return Object.assign(err, { vaultFirst });
  }

  it("should kill an endless loop at its deadline while another object's invocation answers", async () => {
    const err = await besideVault(() => client.invoke(wrecker.sysname, "spin", [], { deadlineMs: 1500 }));
    expect(err.name).to.equal("DeadlineExceededError");
    expect((err as Error & { vaultFirst: boolean }).vaultFirst, "the Vault answered while the loop ran").to.equal(true);
  });

  it("should end an endless recursion with RangeError, its own", async () => {
    const err = await client.invoke(wrecker.sysname, "recurse", []).then(() => new Error("returned"), (e: Error) => e);
    expect(err.name).to.equal("RangeError");
    expect(err.message).to.equal("Maximum call stack size exceeded");
  });

  it("should stop an endless heap allocation with ResourceLimitError while another object's invocation answers", async () => {
    const err = await besideVault(() => client.invoke(wrecker.sysname, "hog", []));
    expect(err.name).to.equal("ResourceLimitError");
    expect(err.message).to.match(/64 MiB JavaScript heap/);
  });

  it("should stop typed arrays allocated without end (outside the heap) with ResourceLimitError", async () => {
    const err = await besideVault(() => client.invoke(wrecker.sysname, "buffers", []));
    expect(err.name).to.equal("ResourceLimitError");
    expect(err.message).to.match(/the invocation went past the memory limit of its isiba worker: the compute server's memory reached \d+ MiB \(bound \d+ MiB\)/);
  });

  it("should stop typed arrays held past the worker's limit across syscalls with ResourceLimitError", async () => {
    const err = await client.invoke(wrecker.sysname, "buffersHeld", [100_000]).then((v) => new Error(`returned ${String(v)}`), (e: Error) => e);
    expect(err.name).to.equal("ResourceLimitError");
    expect(err.message).to.match(/its isiba worker held \d+ MiB of ArrayBuffers \(typed arrays\), past its limit of 64 MiB/);
  });

  it("should refuse a result or a nested invocation's argument too big to leave the worker, before copying it to the kernel", async () => {
    const result = await client.invoke(wrecker.sysname, "bigResult", [100]).then(() => new Error("returned"), (e: Error) => e);
    expect(result.name).to.equal("NotTransferableError");
    expect(result.message).to.equal("the result of bigResult cannot leave the object: it is larger than 16 MiB (store big data in fields and pass a reference to the object)");
    const argument = await client.invoke(wrecker.sysname, "bigArgument", [100]).then(() => new Error("returned"), (e: Error) => e);
    expect(argument.name).to.equal("NotTransferableError");
    expect(argument.message).to.match(/^the arguments of take\(\) cannot leave the object: it is larger than 16 MiB/);
    expect(await wrecker.take("x".repeat(1000)), "the connection is whole").to.equal(1000);
  });

  it("should refuse a write by a continuation that runs after its invocation returned: never seen, never committed", async () => {
    const before = await wrecker.count();
    expect(await wrecker.strayWrite()).to.equal(before);
    // The worker takes its messages in order: the first call's continuation (run when its
    // print is answered) has run before this call's entry, which must not see its write.
    expect(await wrecker.strayWrite()).to.equal(before);
    expect(await wrecker.count()).to.equal(before);
  });

  it("should take back a worker that a continuation keeps spinning after its invocation returned, and serve the calls sent to it", async () => {
    expect(await wrecker.straySpin()).to.equal("returned");
    // Each worker gets some of these: the one sent to the spinning worker runs again elsewhere.
    const answers = await Promise.all([vault.peek(), vault.peek(), wrecker.count(), vault.peek()]);
    expect(answers[0]).to.equal("VVVV-the-vault-secret");
    expect(answers[3]).to.equal("VVVV-the-vault-secret");
  });

  it("should let a flood of unhandled rejections cost only its own invocation: time, or its worker's heap", async () => {
    expect(await wrecker.flood(20_000)).to.equal(20_000);
    const err = await besideVault(() => client.invoke(wrecker.sysname, "flood", [5_000_000]));
    expect(err.name).to.equal("ResourceLimitError");
  });
});
