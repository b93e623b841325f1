/**
 * typeCheckClassFile: the optional type check of `clouds compile FILE.ts --check`.
 *
 * Runs the TypeScript compiler (the `typescript` package, a devDependency: present after
 * `npm ci`, not after `npm ci --omit=dev`) on the file and its imports, with "clouds-ts"
 * resolved to this runtime's own declarations (dist/objects/index.d.ts), and throws a
 * CompileError listing every error as `file:line:col: error TSnnnn: message`. Nothing is
 * emitted; the bundling and registration (compileClassFile) are not done here.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CompileError } from "./errors.js";

const REPO_ROOT = path.resolve(__dirname, "../..");

export async function typeCheckClassFile(file: string): Promise<void> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new CompileError(`no such file: ${file}`, { file });
  const dir = mkdtempSync(path.join(os.tmpdir(), "clouds-check-"));
  try {
    const config = path.join(dir, "tsconfig.json");
    writeFileSync(config, JSON.stringify(checkConfig(abs)));
    const output = await runTsc(config, file);
    const errors = output.split("\n").map(formatDiagnostic).filter((l) => l.length > 0);
    if (errors.length > 0) throw new CompileError(`${file} does not type-check (nothing registered):\n${errors.join("\n")}`, { file });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkConfig(abs: string): object {
  return {
    compilerOptions: {
      noEmit: true, strict: true, target: "es2022", module: "esnext", moduleResolution: "bundler",
      experimentalDecorators: true, useDefineForClassFields: true, skipLibCheck: true,
      types: ["node"], typeRoots: [path.join(REPO_ROOT, "node_modules/@types")],
      paths: { "clouds-ts": [path.join(REPO_ROOT, "dist/objects/index.d.ts")] },
    },
    files: [abs],
  };
}

function runTsc(config: string, shown: string): Promise<string> {
  let tsc: string;
  try {
    tsc = path.join(path.dirname(require.resolve("typescript/package.json", { paths: [REPO_ROOT] })), "bin/tsc");
  } catch {
    throw new CompileError(`${shown}: --check needs the 'typescript' package (a devDependency: npm ci without --omit=dev)`, { file: shown });
  }
  return new Promise((resolve) => {
    execFile(process.execPath, [tsc, "-p", config, "--pretty", "false"], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (_err, stdout, stderr) => resolve(`${stdout}\n${stderr}`));
  });
}

/** `file(line,col): error TS...` -> `file:line:col: error TS...` (file relative to the cwd). */
function formatDiagnostic(line: string): string {
  const m = /^(.+?)\((\d+),(\d+)\): (error .*)$/.exec(line.trim());
  if (m) return `${path.relative(process.cwd(), path.resolve(m[1])) || m[1]}:${m[2]}:${m[3]}: ${m[4]}`;
  return /^error /.test(line.trim()) ? line.trim() : "";
}
