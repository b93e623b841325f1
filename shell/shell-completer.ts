/**
 * ShellCompleter: what Tab completes in the interactive shell (readline's completer).
 *
 *   (start of a line)     command words, and names in the current directory
 *   @                     @ + compute server ids          @cs<Tab>  -> @cs1 @cs2
 *   Name.                 the entries of Name's class     RectA.a<Tab> -> RectA.area(
 *   a name or path        bindings of that directory (directories end with /)
 *   new Class             registered classes
 *   load FILE             files on this machine (.ts and directories)
 *
 *   const c = new ShellCompleter({ names: () => cluster.names(), ..., cwd: () => session.cwd });
 *   readline.createInterface({ completer: (line, cb) => void c.complete(line).then((r) => cb(null, r), cb) });
 *
 * Rules: completion never throws (a name server that does not answer completes nothing)
 * and never changes anything; it asks the name server at most twice per Tab.
 */
import { readdirSync, statSync } from "node:fs";
import * as path from "node:path";
import type { Binding } from "../servers/name/name-directory.js";
import { joinPath } from "../servers/name/name-directory.js";
import { CLASSES_DIR } from "../servers/name/protocol.js";
import { HELP } from "./help.js";

export interface CompleterSource {
  /** The bindings in a directory (absolute path); [] if it does not exist. */
  list(dir: string): Promise<Binding[]>;
  lookup(path: string): Promise<Binding | null>;
  /** Compute server ids. */
  computeServers(): Promise<string[]>;
  /** The shell's current directory. */
  cwd(): string;
}

/** Commands whose operand is a name or path of the name space. */
const NAME_OPERANDS = new Set(["ls", "cd", "mv", "rm", "info", "inspect", "pages"]);
const WORDS = [...new Set([...Object.keys(HELP).filter((k) => k !== "invoke"), "quit"])].sort();

export class ShellCompleter {
  constructor(private readonly source: CompleterSource) {}

  /** readline's result: the completions of the line's last word, and that word. */
  async complete(line: string): Promise<[string[], string]> {
    try {
      return await this.completeLine(line);
    } catch {
      return [[], ""];
    }
  }

  private async completeLine(line: string): Promise<[string[], string]> {
    const words = line.split(/\s+/);
    const word = words[words.length - 1];
    const before = words.slice(0, -1).filter((w) => w !== "" && !w.startsWith("--"));
    if (word.startsWith("@")) return [this.matching((await this.source.computeServers()).map((id) => `@${id}`), word), word];
    if (before.length === 0 || (before.length === 1 && before[0].startsWith("@"))) return this.first(word, before.length === 0);
    const command = before[0];
    if (command === "new") return before.length === 1 ? [await this.classes(word), word] : [[], word];
    if (command === "load") return [fileCompletions(word), word];
    if (NAME_OPERANDS.has(command)) return [await this.paths(word), word];
    return [[], word];
  }

  /** The first word: a command, a name (or path) to invoke, or `Name.entry`. */
  private async first(word: string, commandsToo: boolean): Promise<[string[], string]> {
    const dot = word.lastIndexOf(".");
    if (dot > 0 && !word.slice(0, dot).endsWith(".")) return [await this.entries(word.slice(0, dot), word.slice(dot + 1)), word];
    const names = await this.paths(word, true);
    return [[...(commandsToo ? this.matching(WORDS, word).map((w) => `${w} `) : []), ...names], word];
  }

  /** `Name.` + the entries of Name's class that start with `prefix`, each with its '('. */
  private async entries(name: string, prefix: string): Promise<string[]> {
    const b = await this.source.lookup(joinPath(this.source.cwd(), name));
    const className = b?.kind === "object" ? b.meta.className : undefined;
    if (typeof className !== "string") return [];
    const cls = await this.source.lookup(`${CLASSES_DIR}/${className}`);
    const entries = Array.isArray(cls?.meta.entries) ? (cls!.meta.entries as unknown[]).filter((e): e is string => typeof e === "string") : [];
    return this.matching(entries, prefix).map((e) => `${name}.${e}(`);
  }

  /** Bindings of the word's directory that start with its last component; objects get a '.' when `invoking`. */
  private async paths(word: string, invoking = false): Promise<string[]> {
    const slash = word.lastIndexOf("/");
    const dirPart = slash >= 0 ? word.slice(0, slash + 1) : "";
    const dir = joinPath(this.source.cwd(), dirPart === "" ? "." : dirPart);
    const bindings = await this.source.list(dir);
    const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
    return bindings
      .map((b) => `${dirPart}${base(b.path)}${b.kind === "directory" ? "/" : invoking && b.kind === "object" ? "." : ""}`)
      .filter((c) => c.startsWith(word))
      .sort();
  }

  private async classes(prefix: string): Promise<string[]> {
    const bindings = await this.source.list(CLASSES_DIR);
    return this.matching(bindings.filter((b) => b.kind === "class").map((b) => b.path.slice(CLASSES_DIR.length + 1)), prefix).map((c) => `${c} `);
  }

  private matching(candidates: string[], prefix: string): string[] {
    return candidates.filter((c) => c.startsWith(prefix)).sort();
  }
}

/** Local files and directories for `load`: .ts files, and directories (with their /). */
function fileCompletions(word: string): string[] {
  const slash = word.lastIndexOf("/");
  const dirPart = slash >= 0 ? word.slice(0, slash + 1) : "";
  const dir = dirPart === "" ? "." : dirPart;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names) {
    if (!`${dirPart}${n}`.startsWith(word) || (n.startsWith(".") && !word.slice(slash + 1).startsWith("."))) continue;
    const isDir = (() => {
      try {
        return statSync(path.join(dir, n)).isDirectory();
      } catch {
        return false;
      }
    })();
    if (isDir) out.push(`${dirPart}${n}/`);
    else if (n.endsWith(".ts")) out.push(`${dirPart}${n}`);
  }
  return out.sort();
}
