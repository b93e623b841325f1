/**
 * EntrySignature: the parameters of an entry method, read from the class's TypeScript source
 * when it is compiled, so that invocations are checked before they run.
 *
 * Types are erased at run time, so `clouds compile` keeps what the source says: each
 * parameter's name, whether it is optional or a rest parameter, and its declared type when
 * it is one we can check at the boundary (number, string, boolean, bigint). Anything else
 * is "any" and passes. The reader is a small scanner, not a TypeScript parser: an entry
 * whose parameter list it cannot read gets an unchecked signature (never a wrong one).
 */
export type CheckedType = "number" | "string" | "boolean" | "bigint" | "any";

export interface ParamInfo {
  name: string;
  type: CheckedType;
  optional: boolean;
  rest: boolean;
}

export interface EntrySignature {
  name: string;
  /**
   * The class's constructor (name "constructor"): checked at creation like an entry at an
   * invocation, never invocable. Absent on classes registered before constructors were read.
   */
  ctor?: true;
  exclusive: boolean;
  /** An atomic entry (`@entry({ atomic: true })`); absent: not (classes registered before it existed). */
  atomic?: boolean;
  /** null: the parameter list could not be read; arguments are not checked. */
  params: ParamInfo[] | null;
}

const CHECKED = new Set(["number", "string", "boolean", "bigint"]);

/** The key of a class's constructor in readEntrySignatures' result (no method has that name). */
export const CONSTRUCTOR = "constructor";

/**
 * Parameter lists of every `@entry` method in `source`, by class name then method name, and of
 * each class's constructor (CONSTRUCTOR): its own, none ([]) for a class extending CloudsObject
 * without one, or null (unchecked) when it inherits another class's.
 */
export function readEntrySignatures(text: string): Map<string, Map<string, ParamInfo[] | null>> {
  const out = new Map<string, Map<string, ParamInfo[] | null>>();
  const source = blankComments(text);
  const classes = [...source.matchAll(/\bclass\s+([A-Za-z_$][\w$]*)(?:\s*<[^>{]*>)?(?:\s+extends\s+([A-Za-z_$][\w$.]*))?/g)]
    .map((m) => ({ name: m[1], at: m.index ?? 0, base: m[2] }));
  classes.forEach((c, i) => {
    const body = source.slice(c.at, classes[i + 1]?.at ?? source.length);
    // A declaration, not a call of some value's `.constructor(...)` in a method.
    const m = /(?<![.\w$])constructor\s*\(/.exec(body);
    const list = m ? paramList(body, m.index + m[0].length) : null;
    const params = m ? (list === null ? null : parseParams(list.replace(/\b(?:public|private|protected|readonly|override)\s+/g, ""))) : c.base === "CloudsObject" ? [] : null;
    out.set(c.name, new Map([[CONSTRUCTOR, params]]));
  });
  const entryRe = /@entry\b(?:\s*\([^)]*\))?\s+(?:(?:public|async|override)\s+)*([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\s*\(/g;
  for (const m of source.matchAll(entryRe)) {
    const owner = [...classes].reverse().find((c) => c.at < (m.index ?? 0));
    if (!owner) continue;
    const list = paramList(source, (m.index ?? 0) + m[0].length);
    if (!out.has(owner.name)) out.set(owner.name, new Map());
    if (m[1] === CONSTRUCTOR) continue;
    out.get(owner.name)!.set(m[1], list === null ? null : parseParams(list));
  }
  return out;
}

/**
 * The source with every comment replaced by spaces (offsets kept), so that words in comments
 * ("the class invariant") are not read as code. Strings are skipped over, not blanked.
 */
function blankComments(source: string): string {
  let out = "";
  for (let i = 0; i < source.length; ) {
    const c = source[i];
    const end = c === "/" && source[i + 1] === "/" ? lineEnd(source, i) : c === "/" && source[i + 1] === "*" ? blockEnd(source, i) : -1;
    if (end >= 0) {
      out += source.slice(i, end).replace(/[^\n]/g, " ");
      i = end;
    } else if (c === '"' || c === "'" || c === "`") {
      const close = stringEnd(source, i);
      out += source.slice(i, close);
      i = close;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function lineEnd(s: string, i: number): number {
  const n = s.indexOf("\n", i);
  return n < 0 ? s.length : n;
}

function blockEnd(s: string, i: number): number {
  const n = s.indexOf("*/", i + 2);
  return n < 0 ? s.length : n + 2;
}

function stringEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === "\\") j++;
    else if (s[j] === s[i]) return j + 1;
  }
  return s.length;
}

/** +1 for an opening bracket, -1 for a closing one; the `>` of an arrow `=>` is no bracket. */
function bracketDelta(text: string, i: number): number {
  const c = text[i];
  if (c === "(" || c === "[" || c === "{" || c === "<") return 1;
  if (c === ">" && text[i - 1] === "=") return 0;
  if (c === ")" || c === "]" || c === "}" || c === ">") return -1;
  return 0;
}

/** The text between the '(' just before `start` and its matching ')', or null. */
function paramList(source: string, start: number): string | null {
  let depth = 1;
  for (let i = start; i < source.length; i++) {
    depth += bracketDelta(source, i);
    if (depth === 0) return source.slice(start, i);
  }
  return null;
}

function splitTopLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = "";
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    depth += bracketDelta(list, i);
    if (c === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += c;
  }
  if (cur.trim()) parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

function parseParams(list: string): ParamInfo[] | null {
  const params: ParamInfo[] = [];
  for (const part of splitTopLevel(list)) {
    const m = /^(\.\.\.)?\s*([A-Za-z_$][\w$]*)\s*(\?)?\s*(?::\s*([^=]+?))?\s*(=.*)?$/s.exec(part);
    if (!m) return null;
    const declared = (m[4] ?? "").trim();
    params.push({
      name: m[2],
      rest: m[1] !== undefined,
      optional: m[3] !== undefined || m[5] !== undefined,
      type: CHECKED.has(declared) ? (declared as CheckedType) : "any",
    });
  }
  return params;
}

/** Why `args` do not fit the signature, or null when they do. */
export function argumentProblem(sig: EntrySignature, args: readonly unknown[]): string | null {
  const params = sig.params;
  if (params === null) return null;
  const rest = params.length > 0 && params[params.length - 1].rest;
  const required = params.filter((p) => !p.optional && !p.rest).length;
  const max = rest ? Infinity : params.length;
  if (args.length < required || args.length > max) {
    const want = rest ? `at least ${required}` : required === params.length ? `${required}` : `${required} to ${max}`;
    return `${sig.name} takes ${want} argument${/(^|\s)1$/.test(want) ? "" : "s"} (${params.map(describe).join(", ")}), got ${args.length}`;
  }
  for (let i = 0; i < args.length && i < params.length; i++) {
    const p = params[i];
    if (p.rest || p.type === "any" || (p.optional && args[i] === undefined)) continue;
    if (typeof args[i] !== p.type) return `${sig.name}: argument ${i + 1} '${p.name}' must be a ${p.type}, got ${typeOf(args[i])}`;
  }
  return null;
}

function describe(p: ParamInfo): string {
  return `${p.rest ? "..." : ""}${p.name}${p.optional ? "?" : ""}: ${p.type}`;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}
