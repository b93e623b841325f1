import { expect } from "chai";
import { MemoryGuard, overLimit, type MemoryProbes, type MemoryReport } from "../../ra-kernel/memory-guard.js";

const MiB = 2 ** 20;

describe("MemoryGuard", () => {
  describe("overLimit", () => {
    const reports: MemoryReport<string>[] = [
      { worker: "w1", arrayBuffers: 10 * MiB },
      { worker: "w2", arrayBuffers: undefined },
      { worker: "w3", arrayBuffers: 100 * MiB },
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

  describe("check", () => {
    function probes(answers: (number | undefined)[], rss: number): MemoryProbes<number> & { terminated: [number, string][] } {
      const fake = {
        terminated: [] as [number, string][],
        async probe(): Promise<MemoryReport<number>[]> {
          await new Promise((resolve) => setImmediate(resolve));
          return answers.map((arrayBuffers, worker) => ({ worker, arrayBuffers }));
        },
        terminate: (w: number, why: string) => void fake.terminated.push([w, why]),
        rss: () => rss,
      };
      return fake;
    }

    it("should terminate the workers over the limit, once per check, and never probe twice at once", async () => {
      const fake = probes([1 * MiB, 90 * MiB], 100 * MiB);
      const guard = new MemoryGuard(fake, 64 * MiB, 1_000 * MiB);
      await Promise.all([guard.check(), guard.check()]);
      expect(fake.terminated.map(([w]) => w)).to.deep.equal([1]);
    });

    it("should leave every worker alone when all is within bounds", async () => {
      const fake = probes([1 * MiB, undefined], 100 * MiB);
      await new MemoryGuard(fake, 64 * MiB, 1_000 * MiB).check();
      expect(fake.terminated).to.deep.equal([]);
    });
  });
});
