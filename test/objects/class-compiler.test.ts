import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { compileClassFile } from "../../objects/class-compiler.js";
import { CompileError } from "../../objects/errors.js";
import { evaluate } from "../../ra-kernel/class-loader.js";
import { compileExample, REPO_ROOT } from "../support/compiled-examples.js";
import { expectRejection } from "../support/expect-rejection.js";
import { newStore } from "../support/object-memory.js";
import { createIn } from "../support/persistent-objects.js";

describe("compileClassFile", () => {
  let scratch: string;

  before(() => {
    scratch = mkdtempSync(path.join(tmpdir(), "clouds-compiler-"));
  });

  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  /** Writes a class file that could not live in the repo (tsc would refuse it). */
  function scratchFile(name: string, source: string): string {
    const file = path.join(scratch, name);
    writeFileSync(file, source);
    return file;
  }

  it("should compile the Rectangle example into one class with its entry signatures", async () => {
    const [rect, ...more] = await compileExample("objects/examples/rectangle.ts");
    expect(more).to.deep.equal([]);
    expect(rect.name).to.equal("Rectangle");
    expect(rect.sourceFile).to.equal(path.join(REPO_ROOT, "objects/examples/rectangle.ts"));
    expect(rect.entries).to.deep.equal([
      { name: "size", exclusive: false, params: [
        { name: "x", rest: false, optional: false, type: "number" },
        { name: "y", rest: false, optional: false, type: "number" },
      ] },
      { name: "area", exclusive: false, params: [] },
      { name: "constructor", ctor: true, exclusive: false, params: [] },
    ]);
    expect(rect.sourceHash).to.match(/^[0-9a-f]{16}$/);
  });

  it("should give the same hash to the same source", async () => {
    const file = path.join(REPO_ROOT, "objects/examples/rectangle.ts");
    const [a] = await compileClassFile(file);
    const [b] = await compileClassFile(file);
    expect(a.sourceHash).to.equal(b.sourceHash);
    expect(a.code).to.equal(b.code);
  });

  it("should give the same code and hash to the same file compiled from any working directory (no new version)", async () => {
    const file = path.join(REPO_ROOT, "test/fixtures/greeter.ts"); // with a relative import: its name is in the bundle
    const here = process.cwd();
    try {
      process.chdir(REPO_ROOT);
      const [a] = await compileClassFile("test/fixtures/greeter.ts");
      process.chdir(scratch);
      const [b] = await compileClassFile(file);
      process.chdir(path.join(REPO_ROOT, "test"));
      const [c] = await compileClassFile("fixtures/greeter.ts");
      expect(b.code).to.equal(a.code);
      expect([b.sourceHash, c.sourceHash]).to.deep.equal([a.sourceHash, a.sourceHash]);
    } finally {
      process.chdir(here);
    }
  });

  it("should find every persistent class of a file and only those, with their entries", async () => {
    const classes = await compileExample("test/fixtures/shapes.ts");
    const byName = new Map(classes.map((c) => [c.name, c]));
    expect([...byName.keys()].sort()).to.deep.equal(["Circle", "Square"]);
    const entries = (name: string) => byName.get(name)!.entries.filter((e) => !e.ctor).map((e) => [e.name, e.exclusive, e.params?.length]);
    expect(entries("Circle")).to.deep.equal([["resize", true, 2], ["area", false, 0]]);
    expect(entries("Square")).to.deep.equal([["resize", false, 1], ["area", false, 0]]);
    expect(byName.get("Circle")!.code).to.equal(byName.get("Square")!.code);
  });

  it("should bundle a relative helper file into the class's code", async () => {
    const [greeter] = await compileExample("test/fixtures/greeter.ts");
    expect(greeter.code).to.include("from greeter-text");
    expect(greeter.code).to.not.match(/require\(["']\.\/greeter-text/);
    const Greeter = evaluate("Greeter", "Greeter@1", greeter.code);
    const t = newStore();
    const self = createIn(t.store, Greeter);
    expect(self.greet("ada")).to.equal("Hello, ADA! (from greeter-text)");
    expect(t.store.get("greeted")).to.equal(1);
  });

  it("should report a syntax error with the file, line and column", async () => {
    const file = scratchFile("bad-syntax.ts", `import { CloudsObject } from "clouds-ts";\nexport class T extends CloudsObject {\n  x = ;\n}\n`);
    const err = await expectRejection(compileClassFile(file), CompileError);
    expect(err.message).to.match(/bad-syntax\.ts:3:7: /);
    expect(err.file).to.equal(file);
  });

  it("should refuse an import other than clouds-ts and relative files", async () => {
    const file = scratchFile("imports-fs.ts", `import { readFileSync } from "fs";\nimport { CloudsObject } from "clouds-ts";\nexport class T extends CloudsObject { r = typeof readFileSync; }\n`);
    const err = await expectRejection(compileClassFile(file), CompileError);
    expect(err.message).to.match(/imports-fs\.ts:1:\d+: Could not resolve "fs"/);
  });

  it("should refuse a file that exports no CloudsObject subclass", async () => {
    const file = path.join(REPO_ROOT, "test/fixtures/no-class.ts");
    const err = await expectRejection(compileClassFile(file), CompileError);
    expect(err.message).to.equal(`${file} exports no class that extends CloudsObject (import { CloudsObject } from "clouds-ts")`);
  });

  it("should refuse a missing file", async () => {
    const file = path.join(scratch, "nowhere.ts");
    const err = await expectRejection(compileClassFile(file), CompileError);
    expect(err.message).to.equal(`no such file: ${file}`);
    expect(err.file).to.equal(file);
  });

  // Regression (found and fixed): objects/class-compiler.ts line 38 lets the ClassLoadError of evaluateModule escape:
  // a class file that throws while its module is evaluated is reported as ClassLoadError
  // "cannot evaluate code of throws.ts: boom", although the header says the compiler's errors
  // are CompileError naming the file (callers that catch CompileError miss it).
  it("should report a class file that throws when evaluated as a CompileError", async () => {
    const file = scratchFile("throws.ts", `import { CloudsObject } from "clouds-ts";\nthrow new Error("boom");\nexport class T extends CloudsObject {}\n`);
    const err = await expectRejection(compileClassFile(file), CompileError);
    expect(err.message).to.include("boom");
    expect(err.file).to.equal(file);
  });
});
