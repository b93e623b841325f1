/**
 * The crash-consistency torture, short (test/torture/, `npm run torture` for the long one):
 * 30 s of clients updating Ledger objects at random compute servers of a 3 compute + 2 data
 * server cluster while servers of every role are killed with -9 about every 6 s and
 * restored; then every object is checked (class invariants and heap) against every
 * acknowledged update, live and again after a restart of the whole cluster from disk. Two
 * more clients move money between bank accounts with atomic transfers (issue 12): money
 * conserved, each acknowledged transfer applied once, each failed one once or not at all.
 * The report is printed whatever the outcome; the cluster is always stopped.
 */
import { expect } from "chai";
import { runTorture, type TortureResult } from "../torture/torture.js";
import { formatReport } from "../torture/torture-report.js";
import { DEFAULT_OPTIONS } from "../torture/torture-options.js";

describe("Crash-consistency torture (integration, real processes)", function () {
  this.timeout(240_000);
  let result: TortureResult;

  before(async () => {
    const seed = Number(process.env.TORTURE_SEED ?? Date.now() % 1_000_000);
    result = await runTorture({ ...DEFAULT_OPTIONS, seed, durationMs: 30_000, clients: 3, objects: 3, maxActive: 2, killEveryMs: 6000, downMs: 1000 });
    console.log(formatReport(result).map((l) => `      ${l}`).join("\n"));
  });

  it("should acknowledge updates while servers die", () => {
    expect(result.log.acknowledged("add")).to.be.greaterThan(0);
    expect(result.log.acknowledged("append")).to.be.greaterThan(0);
  });

  it("should acknowledge atomic transfers while servers die", () => {
    expect(result.bank.acked).to.be.greaterThan(0);
  });

  it("should find every acknowledged update, each once, objects whole and heaps intact", () => {
    expect(result.violations, `${result.violations.length} violations (seed ${result.options.seed}):\n${result.violations.join("\n")}`).to.deep.equal([]);
  });
});
