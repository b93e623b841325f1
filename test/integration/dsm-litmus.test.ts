/**
 * DSM litmus tests on a real cluster (4 compute servers): message passing, store buffering
 * and coherence, each run many times with its threads as concurrent invocations pinned to
 * different compute servers, once with the fields on the same page and once on different
 * pages (test/fixtures/litmus.ts lays them out). A run: reset the fields, start the
 * threads (each marks itself ready and spins on `go`), release them with a third
 * invocation that sets `go` once all are ready, collect their results. Each litmus prints
 * its outcome histogram and fails on any outcome sequential consistency forbids.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import type { Litmus } from "../fixtures/litmus.js";

const LITMUS = path.join(REPO_ROOT, "test/fixtures/litmus.ts");
const RUNS = 100;
/** Bound of every spin inside a thread: a bug fails the run instead of hanging it. */
const SPIN_LIMIT_MS = 10_000;
/** How long `release` waits for the threads to be ready before it sets go anyway. */
const READY_WAIT_MS = 250;

const SAME_PAGE = { x: "sx", y: "sy" };
const DIFFERENT_PAGES = { x: "dx", y: "dy" };

interface Outcome {
  key: string;
  /** Why this outcome is forbidden, or null if it is allowed. */
  forbidden: string | null;
}

/** Outcomes of one litmus, counted; errors of runs that failed outright. */
class Histogram {
  readonly counts = new Map<string, number>();
  readonly forbidden: string[] = [];
  readonly errors: string[] = [];
  runs = 0;
  allReady = 0;

  constructor(readonly name: string) {}

  note(outcome: Outcome, allReady: boolean): void {
    this.runs++;
    if (allReady) this.allReady++;
    this.counts.set(outcome.key, (this.counts.get(outcome.key) ?? 0) + 1);
    if (outcome.forbidden) this.forbidden.push(`run ${this.runs}: ${outcome.key}: ${outcome.forbidden}`);
  }

  summary(): string {
    const counts = [...this.counts].sort().map(([k, n]) => `${k}: ${n}`).join(", ");
    const errors = this.errors.length > 0 ? `; stopped by an error: ${this.errors.join(" | ")}` : "";
    return `${this.name}: ${this.runs} runs {${counts}}; all threads ready before go in ${this.allReady}/${this.runs}${errors}`;
  }
}

interface LitmusRun {
  /** Data fields to zero before the run. */
  fields: string[];
  /** Starts the thread invocations (not awaited). */
  threads: () => Promise<unknown>[];
  /** Where `release` runs. */
  releaseAt: string;
  classify: (results: unknown[]) => Promise<Outcome> | Outcome;
}

describe("DSM litmus tests (integration, real processes)", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let client: Cluster;
  let obj: Remote<Litmus>;

  before(async () => {
    cluster = await TestCluster.start({ compute: 4 });
    client = await cluster.connect();
    await client.load(LITMUS);
    obj = await client.create<Litmus>("Litmus", "LitmusObject");
  });

  after(async () => {
    await cluster?.stop();
  });

  async function litmus(name: string, spec: LitmusRun): Promise<Histogram> {
    const h = new Histogram(name);
    for (let i = 0; i < RUNS && h.errors.length === 0; i++) {
      await obj.reset(spec.fields);
      const threads = spec.threads();
      const release = obj.at(spec.releaseAt).release(threads.length, READY_WAIT_MS);
      const settled = await Promise.allSettled([release, ...threads]);
      const failed = settled.filter((s): s is PromiseRejectedResult => s.status === "rejected");
      if (failed.length > 0) {
        h.errors.push(...failed.map((f) => `run ${i + 1}: ${(f.reason as Error).message}`));
        break;
      }
      const [ready, ...results] = settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
      h.note(await spec.classify(results), ready === threads.length);
    }
    console.log(`      ${h.summary()}`);
    return h;
  }

  function expectAllowed(h: Histogram): void {
    expect(h.errors, h.summary()).to.deep.equal([]);
    expect(h.forbidden, h.summary()).to.deep.equal([]);
  }

  it("should lay the same-page pair on one page and the other pair on two other pages", async () => {
    const fields = await obj.layout();
    const page = (f: string) => {
      const slot = fields.indexOf(f);
      expect(slot, `field ${f}`).to.be.at.least(0);
      return (32 + 32 * slot) >> 12;
    };
    expect(["go", "ready1", "done4", "sx", "sy", "dx", "dy"].map(page)).to.deep.equal([0, 0, 0, 1, 1, 2, 3]);
  });

  for (const [where, { x, y }] of [["same page", SAME_PAGE], ["different pages", DIFFERENT_PAGES]] as const) {
    describe(`with the fields on ${where} (${x}, ${y})`, () => {
      it("message passing: a reader that sees the flag sees the data written before it", async () => {
        const h = await litmus(`MP ${where}`, {
          fields: [x, y],
          threads: () => [obj.at("cs1").mpWriter(1, x, y, SPIN_LIMIT_MS), obj.at("cs2").mpReader(2, x, y, SPIN_LIMIT_MS)],
          releaseAt: "cs3",
          classify: ([, read]) => {
            const [flag, data] = read as number[];
            const key = `flag=${flag} data=${data}`;
            if (flag !== 1) return { key, forbidden: `the reader never saw the flag within ${SPIN_LIMIT_MS} ms` };
            return { key, forbidden: data === 0 ? "the flag was seen but not the data written before it" : null };
          },
        });
        expectAllowed(h);
      });

      it("store buffering: the two threads never both read 0", async () => {
        const h = await litmus(`SB ${where}`, {
          fields: [x, y],
          threads: () => [obj.at("cs1").storeBuffer(1, x, y, SPIN_LIMIT_MS), obj.at("cs2").storeBuffer(2, y, x, SPIN_LIMIT_MS)],
          releaseAt: "cs3",
          classify: ([r1, r2]) => {
            const key = `r1=${r1} r2=${r2}`;
            return { key, forbidden: r1 === 0 && r2 === 0 ? "each thread missed the other's write (not sequentially consistent)" : null };
          },
        });
        expectAllowed(h);
      });

      it("coherence: observers on other servers agree on the order of two writes to one field", async () => {
        const h = await litmus(`CO ${where} (field ${x})`, {
          fields: [x, y],
          threads: () => [
            obj.at("cs1").coWriter(1, x, 1, SPIN_LIMIT_MS),
            obj.at("cs2").coWriter(2, x, 2, SPIN_LIMIT_MS),
            obj.at("cs3").coObserver(3, x, [1, 2], SPIN_LIMIT_MS),
            obj.at("cs4").coObserver(4, x, [1, 2], SPIN_LIMIT_MS),
          ],
          releaseAt: "cs1",
          classify: async ([, , o3, o4]) => {
            const [final] = await obj.values([x]);
            return coherenceOutcome([o3 as number[], o4 as number[]], final);
          },
        });
        expectAllowed(h);
      });
    });
  }
});

/** Each observer's sequence of distinct values must be a path through one total order of the writes, ending at the final value. */
function coherenceOutcome(observed: number[][], final: number): Outcome {
  const key = `${observed.map((s) => s.join("")).join(" / ")} final=${final}`;
  const orders = new Set<string>();
  for (const seq of observed) {
    if (new Set(seq).size !== seq.length) return { key, forbidden: `an observer saw a value come back: ${seq.join(" -> ")}` };
    if (seq[seq.length - 1] !== final) return { key, forbidden: `an observer, after both writers were done, read ${seq[seq.length - 1]}, not the final ${final}` };
    const writes = seq.filter((v) => v !== 0);
    if (writes.length === 2) orders.add(writes.join(" then "));
    if (writes.length === 2 && writes[1] !== final) return { key, forbidden: `an observer saw ${writes.join(" then ")} but the final value is ${final}` };
  }
  return { key, forbidden: orders.size > 1 ? `observers disagree on the order of the writes: ${[...orders].join(" vs ")}` : null };
}
