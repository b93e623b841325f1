/**
 * The client used from another project, as the README says: `npm pack` this package, install
 * the tarball in a fresh temporary project (from npm's cache where it can, no install scripts:
 * the client needs no native module), and from TypeScript there `import { connect } from
 * "clouds-ts/client"` and a class `extends CloudsObject` from "clouds-ts" — type-checked
 * against the package's own types (a wrong call is a type error), compiled, and run against
 * a real cluster.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";

const run = promisify(execFile);
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const TSC = path.join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");

const CLASS = `import { CloudsObject, entry } from "clouds-ts";
export class Tile extends CloudsObject {
  w = 0;
  h = 0;
  @entry size(w: number, h: number): void { this.w = w; this.h = h; }
  @entry area(): number { return this.w * this.h; }
}
`;

/** The program (no @types/node in the project: the cluster's directory is written in). */
const MAIN = (dir: string) => `import { connect } from "clouds-ts/client";
import type { Tile } from "./tile.js";

async function main(): Promise<void> {
  const cluster = await connect({ dir: ${JSON.stringify(dir)} });
  try {
    const loaded = await cluster.load("tile.ts");
    const tile = await cluster.create<Tile>("Tile", "PackedTile");
    await tile.size(3, 4);
    const area: number = await tile.area();
    console.log(JSON.stringify({ classes: loaded.map((l) => l.name), area }));
  } finally {
    await cluster.close();
  }
}
main().catch((err: unknown) => {
  console.error(err);
  throw err;
});
`;

const TSCONFIG = {
  compilerOptions: { target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, experimentalDecorators: true, outDir: "out", rootDir: ".", skipLibCheck: true, types: [] },
  include: ["main.ts", "tile.ts"],
};

describe("the packed client from another project (integration, real processes)", function () {
  this.timeout(180_000);
  let cluster: TestCluster;
  let scratch: string;
  let project: string;

  before(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), "clouds-pack-"));
    project = path.join(scratch, "project");
    cluster = await TestCluster.start({ compute: 1 });
  });

  after(async () => {
    await cluster?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("should install from the tarball npm pack makes, type-check against the package's types, and run", async () => {
    const packed = await run(NPM, ["pack", "--ignore-scripts", "--pack-destination", scratch], { cwd: REPO_ROOT });
    const tarball = path.join(scratch, packed.stdout.trim().split("\n").pop()!);
    await run("mkdir", ["-p", project]);
    writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "uses-clouds", private: true, version: "1.0.0" }));
    await run(NPM, ["install", "--prefer-offline", "--ignore-scripts", "--no-audit", "--no-fund", tarball], { cwd: project, maxBuffer: 16 << 20 });
    writeFileSync(path.join(project, "tile.ts"), CLASS);
    writeFileSync(path.join(project, "main.ts"), MAIN(cluster.dir));
    writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify(TSCONFIG));
    await run(process.execPath, [TSC, "-p", "tsconfig.json"], { cwd: project });
    const out = await run(process.execPath, [path.join(project, "out", "main.js")], { cwd: project });
    expect(JSON.parse(out.stdout.trim())).to.deep.equal({ classes: ["Tile"], area: 12 });

    // The types are the package's: a wrong call does not compile.
    writeFileSync(path.join(project, "main.ts"), MAIN(cluster.dir).replace("await tile.area()", "await tile.area(5)"));
    const bad = await run(process.execPath, [TSC, "-p", "tsconfig.json", "--noEmit"], { cwd: project }).then(() => null, (err: { stdout?: string }) => err.stdout ?? "");
    expect(bad, "tsc must refuse area(5)").to.match(/main\.ts.*Expected 0 arguments, but got 1/);
  });
});
