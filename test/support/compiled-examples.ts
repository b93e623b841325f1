/**
 * Compiled example classes for unit tests (compiled once per test run).
 */
import * as path from "node:path";
import { compileClassFile, type CompiledClass } from "../../objects/class-compiler.js";

/** The repo root (tests run from dist/test/...). */
export const REPO_ROOT = path.resolve(__dirname, "../../..");

const cache = new Map<string, Promise<CompiledClass[]>>();

export function compileExample(relative: string): Promise<CompiledClass[]> {
  let p = cache.get(relative);
  if (!p) {
    p = compileClassFile(path.join(REPO_ROOT, relative));
    cache.set(relative, p);
  }
  return p;
}
