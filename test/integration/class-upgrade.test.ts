/**
 * Versioned class upgrade on a real cluster: objects created with version 1 of a class keep
 * their data when version 2 is loaded, get the new fields' initial values on their next
 * invocation (on either compute server), run the new entries, and `info` shows the version.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";

const V1 = path.join(REPO_ROOT, "test/fixtures/upgrade/evolving-v1.ts");
const V2 = path.join(REPO_ROOT, "test/fixtures/upgrade/evolving-v2.ts");

interface Evolving {
  set(a: number, b: string): Promise<void>;
  read(): Promise<Record<string, unknown>>;
  sum(): Promise<number>;
}

describe("Class upgrade (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start();
    client = await cluster.connect();
  });

  after(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it("should keep existing objects' data and give them the new fields when version 2 is loaded", async () => {
    expect((await client.load(V1))[0]).to.include({ name: "Evolving", version: 1 });
    const first = await client.create<Evolving>("Evolving", "Ev1");
    const second = await client.create<Evolving>("Evolving", "Ev2");
    // Warm both compute servers with version 1 (their caches must notice version 2).
    await first.at("cs1").set(3, "three");
    await second.at("cs2").set(4, "four");
    expect(await first.at("cs2").read()).to.deep.equal({ a: 3, b: "three" });
    expect(await second.at("cs1").read()).to.deep.equal({ a: 4, b: "four" });

    expect((await client.load(V2))[0]).to.include({ name: "Evolving", version: 2, created: true });
    expect((await cluster.exec("info Ev1")).stdout).to.match(/class\s+Evolving \(version 1, latest 2\)/);

    // Both compute servers upgrade at once: each field is added once, data stays.
    const [s1, s2] = await Promise.all([first.at("cs1").sum(), first.at("cs2").sum()]);
    expect([s1, s2]).to.deep.equal([10, 10]);
    expect(await first.at("cs2").read()).to.deep.equal({ a: 3, b: "three", c: 7, tags: ["v2", "summed", "summed"] });
    expect(await second.at("cs2").sum()).to.equal(11);
    expect(await second.at("cs1").read()).to.deep.equal({ a: 4, b: "four", c: 7, tags: ["v2", "summed"] });

    for (const name of ["Ev1", "Ev2"]) {
      const info = (await cluster.exec(`info ${name}`)).stdout;
      expect(info).to.match(/class\s+Evolving \(version 2\)/);
    }
  });

  it("should create new objects with the newest version and load the same file again as no new version", async () => {
    expect((await client.load(V2))[0]).to.include({ version: 2, created: false });
    const fresh = await client.create<Evolving>("Evolving", "Ev3", [9]);
    expect(await fresh.at("cs2").read()).to.deep.equal({ a: 9, b: "one", c: 7, tags: ["v2"] });
    expect((await cluster.exec("info Ev3")).stdout).to.match(/class\s+Evolving \(version 2\)/);
  });

  it("should register nothing when load --check finds type errors, and load the file once they are fixed", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "clouds-check-"));
    try {
      const file = path.join(dir, "typed.ts");
      const source = (body: string): string => [
        'import { CloudsObject, entry } from "clouds-ts";',
        "export class Typed extends CloudsObject {",
        "  n = 0;",
        `  @entry set(v: number): void { ${body} }`,
        "}",
      ].join("\n");
      writeFileSync(file, source('this.n = "text";'));
      const bad = await cluster.exec(`load --check ${file}`);
      expect(bad.code).to.equal(1);
      expect(bad.stderr).to.match(/typed\.ts:4:\d+: error TS2322: Type 'string' is not assignable to type 'number'/);
      expect(await client.lookup("/sys/classes/Typed")).to.equal(null);

      writeFileSync(file, source("this.n = v;"));
      const good = await cluster.exec(`load --check ${file}`);
      expect(good.stdout.trim()).to.equal("class Typed registered (1 entry point)");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
