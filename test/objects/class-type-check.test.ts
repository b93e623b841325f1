/**
 * Tests of typeCheckClassFile (objects/class-type-check.ts): `clouds compile FILE --check`.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { typeCheckClassFile } from "../../objects/class-type-check.js";
import { CompileError } from "../../objects/errors.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { expectRejection } from "../support/expect-rejection.js";

describe("typeCheckClassFile", function () {
  this.timeout(60_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "clouds-check-test-"));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("should accept a class file that type-checks against the runtime's types", async () => {
    await typeCheckClassFile(path.join(REPO_ROOT, "objects/examples/rectangle.ts"));
    await typeCheckClassFile(path.join(REPO_ROOT, "test/fixtures/upgrade/evolving-v2.ts"));
  });

  it("should report each type error with file:line:col", async () => {
    const file = path.join(dir, "bad.ts");
    writeFileSync(file, [
      'import { CloudsObject, entry } from "clouds-ts";',
      "export class Bad extends CloudsObject {",
      "  n = 0;",
      '  @entry inc(by: number): number { this.n = "x"; return this.nope; }',
      "}",
    ].join("\n"));
    const err = await expectRejection(typeCheckClassFile(file), CompileError);
    expect(err.message).to.match(/does not type-check/);
    expect(err.message).to.match(/bad\.ts:4:\d+: error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(err.message).to.match(/bad\.ts:4:\d+: error TS2339: Property 'nope' does not exist/);
  });
});
