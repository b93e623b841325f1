/**
 * ClassCompiler: turns a class file into code segments ready to register.
 *
 * `clouds compile FILE.ts` and the shell's `load FILE.ts` call it on the workstation:
 * esbuild bundles the file with its relative imports into one CommonJS module ("clouds-ts"
 * stays external: the runtime answers it), with the decorator form the runtime uses. The
 * bundle is then evaluated once in a context of its own (as an isiba would) to find every
 * exported CloudsObject subclass and its @entry methods; the entry parameter lists are read
 * from the source (EntrySignature) so invocations can be checked.
 *
 * Errors are CompileError with a message that names the file and, for syntax errors, the
 * line and column.
 */
import { createHash } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import * as path from "node:path";
import { build, type Message } from "esbuild";
import { CloudsObject } from "./clouds-object.js";
import { entriesOf } from "./entry.js";
import { CONSTRUCTOR, readEntrySignatures, type EntrySignature } from "./entry-signature.js";
import { evaluateModule } from "../ra-kernel/class-loader.js";
import { CompileError } from "./errors.js";
import { transforms } from "ses/tools.js";

export interface CompiledClass {
  name: string;
  /** The whole bundle: every class of one file shares it. */
  code: string;
  entries: EntrySignature[];
  sourceFile: string;
  /** Hash of the bundle: same hash, same version. */
  sourceHash: string;
}

export async function compileClassFile(file: string): Promise<CompiledClass[]> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) throw new CompileError(`no such file: ${file}`, { file });
  const code = await bundle(abs, file);
  checkConfinable(code, file);
  let exports: Record<string, unknown>;
  try {
    exports = evaluateModule(path.basename(file), code);
  } catch (err) {
    throw new CompileError(`${file}: its code throws when evaluated: ${(err as Error).message.replace(/^cannot evaluate code of [^:]+: /, "")}`, { file });
  }
  const signatures = readEntrySignatures(readFileSync(abs, "utf8"));
  const classes = Object.entries(exports)
    .filter(([, v]) => typeof v === "function" && (v as { prototype?: unknown }).prototype instanceof CloudsObject)
    .map(([name, cls]) => describeClass(name, cls as object, code, abs, signatures.get(name)));
  if (classes.length === 0) {
    throw new CompileError(`${file} exports no class that extends CloudsObject (import { CloudsObject } from "clouds-ts")`, { file });
  }
  return classes;
}

function describeClass(name: string, cls: object, code: string, file: string, sigs?: Map<string, EntrySignature["params"]>): CompiledClass {
  const entries: EntrySignature[] = [...entriesOf(cls).values()].map((e) => ({ name: e.name, exclusive: e.exclusive, ...(e.atomic ? { atomic: true } : {}), params: sigs?.get(e.name) ?? null }));
  entries.push({ name: CONSTRUCTOR, ctor: true, exclusive: false, params: sigs?.get(CONSTRUCTOR) ?? null });
  const sourceHash = createHash("sha256").update(code).digest("hex").slice(0, 16);
  return { name, code, entries, sourceFile: file, sourceHash };
}

/**
 * Compute servers evaluate classes in SES compartments (ra-kernel/hardened-realm.ts), which
 * refuse source text that could be a dynamic import, a direct eval or an HTML comment. Say
 * so at load, not at the first invocation.
 */
function checkConfinable(code: string, file: string): void {
  try {
    transforms.mandatoryTransforms(code);
  } catch (err) {
    const why = (err as Error).message.replace(/ at <unknown>:(\d+)\./, " at line $1 of the bundle.");
    throw new CompileError(
      `${file}: compute servers would refuse this code: ${why} They refuse a dynamic import(), a direct eval(...) ` +
        `and the text "<!--" or "-->" anywhere, strings and comments included (write "--" + ">")`,
      { file },
    );
  }
}

async function bundle(abs: string, shown: string): Promise<string> {
  try {
    const result = await build({
      entryPoints: [abs],
      // The bundle names its files relative to this: the file's own directory, so the same
      // file gives the same bundle (and hash: no new version) from whatever directory it is loaded.
      absWorkingDir: path.dirname(abs),
      bundle: true,
      write: false,
      format: "cjs",
      platform: "neutral",
      target: "es2022",
      external: ["clouds-ts"],
      logLevel: "silent",
      sourcemap: false,
      tsconfigRaw: { compilerOptions: { experimentalDecorators: true, useDefineForClassFields: true } },
    });
    return result.outputFiles[0].text;
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? `${path.relative(process.cwd(), first.location.file) || shown}:${first.location.line}:${first.location.column + 1}` : shown;
    throw new CompileError(`${where}: ${first?.text ?? (err as Error).message}`, { file: shown });
  }
}
