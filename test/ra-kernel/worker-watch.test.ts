import { expect } from "chai";
import { overLimit, strays, WorkerWatch, type WorkerProbes, type WorkerReport } from "../../ra-kernel/worker-watch.js";

const MiB = 2 ** 20;

describe("WorkerWatch", () => {
  describe("overLimit", () => {
    const reports: WorkerReport<string>[] = [
      { worker: "w1", arrayBuffers: 10 * MiB, begun: false },
      { worker: "w2", arrayBuffers: undefined, begun: true },
      { worker: "w3", arrayBuffers: 100 * MiB, begun: true },
    ];

    it("should name a worker that answered holding more than its limit, and not the silent ones", () => {
      const out = overLimit(reports, 64 * MiB, 10_000 * MiB, 1_000 * MiB);
      expect(out.map((o) => o.worker)).to.deep.equal(["w3"]);
      expect(out[0].why).to.equal("its isiba worker held 100 MiB of ArrayBuffers (typed arrays), past its limit of 64 MiB");
    });

    it("should name the silent workers when the process is past its bound and nobody that answered holds too much", () => {
      const out = overLimit(reports, 128 * MiB, 2_000 * MiB, 1_500 * MiB);
      expect(out.map((o) => o.worker)).to.deep.equal(["w2"]);
      expect(out[0].why).to.match(/^the compute server's memory reached 2000 MiB \(bound 1500 MiB\) while its isiba worker ran object code without a pause/);
    });

    it("should name nobody while the process is within its bound and every answer is within the limit", () => {
      expect(overLimit(reports, 128 * MiB, 1_000 * MiB, 1_500 * MiB)).to.deep.equal([]);
    });
  });

  describe("strays", () => {
    it("should name a worker silent with none of its isibas begun on two checks in a row, not one silent with an isiba begun", () => {
      const before = new Set<string>();
      const silent = (begun: boolean): WorkerReport<string>[] => [
        { worker: "stray", arrayBuffers: undefined, begun: false },
        { worker: "busy", arrayBuffers: undefined, begun },
        { worker: "idle", arrayBuffers: 0, begun: false },
      ];
      expect(strays(silent(true), before), "one silent check is not enough").to.deep.equal([]);
      expect(strays(silent(true), before).map((s) => s.worker)).to.deep.equal(["stray"]);
      expect(strays([{ worker: "stray", arrayBuffers: 0, begun: false }], before), "it answered: forgotten").to.deep.equal([]);
      expect(strays([{ worker: "stray", arrayBuffers: undefined, begun: false }], before)).to.deep.equal([]);
    });
  });

  describe("check", () => {
    function probes(answers: (number | undefined)[], rss: number): WorkerProbes<number> & { terminated: [number, string][] } {
      const fake = {
        terminated: [] as [number, string][],
        async probe(): Promise<WorkerReport<number>[]> {
          await new Promise((resolve) => setImmediate(resolve));
          return answers.map((arrayBuffers, worker) => ({ worker, arrayBuffers, begun: true }));
        },
        terminate: (w: number, why: string) => void fake.terminated.push([w, why]),
        rss: () => rss,
      };
      return fake;
    }

    it("should terminate the workers over the limit, once per check, and never probe twice at once", async () => {
      const fake = probes([1 * MiB, 90 * MiB], 100 * MiB);
      const watch = new WorkerWatch(fake, 64 * MiB, 1_000 * MiB);
      await Promise.all([watch.check(), watch.check()]);
      expect(fake.terminated.map(([w]) => w)).to.deep.equal([1]);
    });

    it("should leave every worker alone when all is within bounds", async () => {
      const fake = probes([1 * MiB, undefined], 100 * MiB);
      await new WorkerWatch(fake, 64 * MiB, 1_000 * MiB).check();
      expect(fake.terminated).to.deep.equal([]);
    });
  });
});
