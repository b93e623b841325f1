/**
 * LiteralParser: reads the arguments of a shell line — JS literals and names of objects.
 *
 *   RectA.size(5, 1_000, -2.5e3, 0xff, 10n, "a\tb", [1, [2, "x"]], {w: 3, "h": 4})
 *   Registry.add(RectA, /users/ana/RectB, new Date("2024-05-01T00:00:00Z"), null)
 *
 * It is a hand-written scanner over one line (a cursor `pos` that only moves forward) and
 * a recursive-descent reader of the literal subset of JS: numbers (decimal, exponent, hex,
 * octal, binary, `_` separators, Infinity, NaN, a leading sign), bigints, strings in the
 * three quotes with JS escapes (no `${...}`), true / false / null / undefined, arrays,
 * object literals, `new Date(string | ms)`; and bare names or paths of objects, which stay
 * `{kind: "name"}` for the shell to resolve. Nothing else: no calls, operators, regexes,
 * spread or comments. It never evaluates text (no eval, Function or vm).
 *
 * Every failure is a LineSyntaxError naming the column. Lines are capped at 64 KiB and
 * nesting at 100 levels, so no input can exhaust the stack or hang the scanner.
 * The line parser (line-parser.ts) drives the same cursor for the command words around
 * the arguments; it is the only other user of the scanning methods.
 */
import { LineSyntaxError } from "./errors.js";
import type { Expr } from "./shell-command.js";

/** Longest accepted line, in UTF-8 bytes. */
export const MAX_LINE_BYTES = 64 * 1024;
/** Deepest accepted nesting of arrays, objects and `new Date(...)`. */
export const MAX_DEPTH = 100;

const DECIMAL = /[0-9]/;
const IDENT_START = /[A-Za-z_$]/;
const IDENT_CHAR = /[A-Za-z0-9_$]/;
/** Characters of a bare word in argument position: names, paths, keywords. */
const WORD_CHAR = /[A-Za-z0-9_$./-]/;
const WORD_START = /[A-Za-z_$./]/;
const SPACE = /\s/;
const OPERATOR_CHARS = "+-*/%<>=!&|^?~";
const COMPONENT = "[A-Za-z0-9_.-]+";
const PATH_RE = new RegExp(`^/?${COMPONENT}(?:/${COMPONENT})*$`);
const DIRECTORY_RE = new RegExp(`^(?:/|/?${COMPONENT}(?:/${COMPONENT})*/?)$`);
const IDENTIFIER_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Words that are values, not names. */
const VALUE_WORDS = new Map<string, unknown>([
  ["true", true],
  ["false", false],
  ["null", null],
  ["undefined", undefined],
  ["Infinity", Infinity],
  ["NaN", NaN],
]);

/** Words that may not begin an object name in argument position. */
const KEYWORDS = new Set([
  ...VALUE_WORDS.keys(), "new", "await", "break", "case", "catch", "class", "const",
  "continue", "debugger", "default", "delete", "do", "else", "enum", "export", "extends",
  "finally", "for", "function", "if", "implements", "import", "in", "instanceof",
  "interface", "let", "package", "private", "protected", "public", "return", "static",
  "super", "switch", "this", "throw", "try", "typeof", "var", "void", "while", "with", "yield",
]);

const RADIXES = new Map<string, { name: string; digit: RegExp }>([
  ["x", { name: "hex", digit: /[0-9a-fA-F]/ }],
  ["o", { name: "octal", digit: /[0-7]/ }],
  ["b", { name: "binary", digit: /[01]/ }],
]);

const SIMPLE_ESCAPES = new Map([
  ["n", "\n"], ["t", "\t"], ["r", "\r"], ["b", "\b"], ["f", "\f"], ["v", "\v"],
]);

/** A JS identifier (ASCII): entry names, class names, object keys. */
export function isIdentifier(text: string): boolean {
  return IDENTIFIER_RE.test(text);
}

/** A path that can name an object: `RectA`, `/users/ana/RectA`, `../RectA`, `dir/a.b`. */
export function isObjectPath(text: string): boolean {
  if (!PATH_RE.test(text)) return false;
  const last = text.slice(text.lastIndexOf("/") + 1);
  return last !== "." && last !== "..";
}

/** Any path of the name space, directories included: `/`, `..`, `/users/`, `a/b`. */
export function isPath(text: string): boolean {
  return DIRECTORY_RE.test(text);
}

export function isSpace(c: string): boolean {
  return c !== "" && SPACE.test(c);
}

/** A character for a message: `'x'`, `U+0007`, or "the end of the line". */
export function show(c: string): string {
  if (c === "") return "the end of the line";
  const code = c.codePointAt(0) ?? 0;
  if (code >= 0x20 && code < 0x7f) return `'${c}'`;
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Throws unless `line` fits in MAX_LINE_BYTES. */
export function checkLineSize(line: string): void {
  if (line.length * 3 <= MAX_LINE_BYTES) return; // cheap bound: 3 UTF-8 bytes per UTF-16 unit
  const bytes = Buffer.byteLength(line, "utf8");
  if (bytes > MAX_LINE_BYTES) {
    throw LineSyntaxError.plain(line, 0, `line too long: ${bytes} bytes (at most ${MAX_LINE_BYTES})`);
  }
}

/** One complete argument (e.g. `[1, RectA]`) as an Expr; anything after it is an error. */
export function parseExpr(text: string): Expr {
  checkLineSize(text);
  const parser = new LiteralParser(text);
  const expr = parser.expr();
  parser.skipSpaces();
  if (!parser.atEnd()) parser.fail(`unexpected ${show(parser.peek())} after the value`);
  return expr;
}

/** `(a, b)` starting at index `open` of `line`: the arguments and the index after `)`. */
export function parseArgumentList(line: string, open: number): { args: Expr[]; end: number } {
  checkLineSize(line);
  const parser = new LiteralParser(line, open);
  const args = parser.argumentList();
  return { args, end: parser.pos };
}

function literal(value: unknown): Expr {
  return { kind: "literal", value };
}

export class LiteralParser {
  /** Index of the next unread character; only moves forward. */
  pos: number;
  /** Current nesting of arrays, objects and `new Date(...)`. */
  private depth = 0;

  /** Reads `line` from `start` up to (not including) `end`. */
  constructor(readonly line: string, start = 0, readonly end = line.length) {
    this.pos = start;
  }

  // ---- cursor ----------------------------------------------------------------------

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /** The character `offset` ahead, or "" past the end. */
  peek(offset = 0): string {
    const i = this.pos + offset;
    return i < this.end ? this.line[i] : "";
  }

  skipSpaces(): void {
    while (isSpace(this.peek())) this.pos++;
  }

  /** Consumes the run of characters matching `re` (one character at a time). */
  scan(re: RegExp): string {
    const start = this.pos;
    while (!this.atEnd() && re.test(this.line[this.pos])) this.pos++;
    return this.line.slice(start, this.pos);
  }

  /** Throws `problem at column N` for 0-based `index`. */
  fail(problem: string, index = this.pos): never {
    throw LineSyntaxError.at(this.line, index, problem);
  }

  // ---- values ----------------------------------------------------------------------

  /** `( expr, ... )` with `pos` at `(`; leaves `pos` after `)`. */
  argumentList(): Expr[] {
    if (this.peek() !== "(") this.fail(`expected '(' to open the argument list, found ${show(this.peek())}`);
    this.pos++;
    return this.list(")", "the argument list", () => this.expr());
  }

  /** One value, after optional spaces. */
  expr(): Expr {
    this.skipSpaces();
    const c = this.peek();
    if (c === "[") return this.nested(() => this.array());
    if (c === "{") return this.nested(() => this.object());
    if (c === '"' || c === "'" || c === "`") return literal(this.string());
    if (this.atNumber()) return literal(this.number());
    if (c === "-" || c === "+") return literal(this.signed());
    if (c === "." && this.peek(1) === "." && this.peek(2) === ".") this.fail("spread '...' is not allowed in arguments");
    if (c === "/" && (this.peek(1) === "/" || this.peek(1) === "*")) this.fail("comments are not allowed in arguments");
    if (WORD_START.test(c) && c !== "") return this.word();
    return this.failValue(c);
  }

  private failValue(c: string): never {
    if (c === "") this.fail("expected a value");
    if (c === "#") this.fail("comments are not allowed in arguments");
    if (OPERATOR_CHARS.includes(c)) this.fail(`operators are not allowed in arguments: unexpected ${show(c)}`);
    return this.fail(`expected a value (a literal or an object name), found ${show(c)}`);
  }

  /** Items separated by commas (a trailing comma allowed) up to `close`, which it consumes. */
  private list<T>(close: string, what: string, item: () => T): T[] {
    const items: T[] = [];
    this.skipSpaces();
    while (this.peek() !== close) {
      if (this.atEnd()) this.fail(`expected '${close}' to close ${what}`);
      items.push(item());
      this.skipSpaces();
      if (this.peek() === ",") {
        this.pos++;
        this.skipSpaces();
      } else if (this.peek() !== close) {
        this.failAfterItem(close, what);
      }
    }
    this.pos++;
    return items;
  }

  private failAfterItem(close: string, what: string): never {
    const c = this.peek();
    if (c === "") this.fail(`expected '${close}' to close ${what}`);
    if (c === "(") this.fail("calls are not allowed in arguments (only new Date(...))");
    if (c === "/" && (this.peek(1) === "/" || this.peek(1) === "*")) this.fail("comments are not allowed in arguments");
    if (OPERATOR_CHARS.includes(c)) this.fail(`operators are not allowed in arguments: unexpected ${show(c)}`);
    return this.fail(`expected ',' or '${close}' in ${what}, found ${show(c)}`);
  }

  private nested<T>(read: () => T): T {
    if (this.depth >= MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    this.depth++;
    try {
      return read();
    } finally {
      this.depth--;
    }
  }

  private array(): Expr {
    this.pos++;
    return { kind: "array", items: this.list("]", "the array", () => this.expr()) };
  }

  private object(): Expr {
    this.pos++;
    const entries = this.list("}", "the object", () => this.property());
    return { kind: "object", entries: mergeRepeatedKeys(entries) };
  }

  /** `key: value`. */
  private property(): [string, Expr] {
    const key = this.key();
    this.skipSpaces();
    if (this.peek() !== ":") this.fail(`expected ':' after the key '${key}', found ${show(this.peek())}`);
    this.pos++;
    return [key, this.expr()];
  }

  /** An identifier (keywords included, as in JS), a '...' or "..." string, or a number. */
  private key(): string {
    const c = this.peek();
    if (c === '"' || c === "'") return this.string();
    if (this.atNumber()) return String(this.number());
    if (IDENT_START.test(c) && c !== "") return this.scan(IDENT_CHAR);
    if (c === "[") this.fail("computed keys are not allowed in arguments");
    if (c === "." && this.peek(1) === ".") this.fail("spread '...' is not allowed in arguments");
    return this.fail(`expected a key (a name, a string or a number), found ${show(c)}`);
  }

  /** A bare word: a value word, `new Date(...)`, or the name of an object. */
  private word(): Expr {
    const start = this.pos;
    const word = this.scan(WORD_CHAR);
    if (VALUE_WORDS.has(word)) return literal(VALUE_WORDS.get(word));
    if (word === "new") return literal(this.newDate(start));
    const head = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(word)?.[0];
    if (head !== undefined && KEYWORDS.has(head)) this.fail(`'${head}' is a keyword, not an object name`, start);
    if (!isObjectPath(word)) {
      this.fail(`'${word}' is not an object name (path components use A-Z a-z 0-9 _ . -)`, start);
    }
    return { kind: "name", path: word };
  }

  /** `new Date(x)` after the word `new`: one string or number, a valid date. */
  private newDate(start: number): Date {
    this.skipSpaces();
    const classAt = this.pos;
    const cls = this.scan(IDENT_CHAR);
    if (cls !== "Date") {
      this.fail(cls ? `only new Date(...) is allowed in arguments, not new ${cls}` : "expected 'Date' after 'new'", classAt);
    }
    this.skipSpaces();
    if (this.peek() !== "(") this.fail(`expected '(' after 'new Date', found ${show(this.peek())}`);
    const open = this.pos;
    const args = this.nested(() => this.argumentList());
    const arg = args.length === 1 ? args[0] : undefined;
    const value = arg?.kind === "literal" ? arg.value : undefined;
    if (typeof value !== "string" && typeof value !== "number") {
      this.fail("new Date(...) takes one date string or a number of milliseconds", open);
    }
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) this.fail(`invalid date ${JSON.stringify(value)} in new Date(...)`, start);
    return date;
  }

  // ---- strings ---------------------------------------------------------------------

  /** A '...', "..." or `...` string with `pos` at the quote; JS escapes, no `${`. */
  string(): string {
    const quote = this.line[this.pos];
    const open = this.pos;
    this.pos++;
    let out = "";
    for (;;) {
      if (this.atEnd()) this.fail(`unterminated string (opened at column ${open + 1}): expected ${quote}`);
      const c = this.line[this.pos];
      if (c === quote) break;
      if (c === "\\") {
        out += this.escape();
        continue;
      }
      if (quote === "`" && c === "$" && this.peek(1) === "{") {
        this.fail("template interpolation '${' is not allowed in arguments");
      }
      out += c;
      this.pos++;
    }
    this.pos++;
    return out;
  }

  /** The character(s) an escape stands for, with `pos` at the backslash. */
  private escape(): string {
    const at = this.pos;
    this.pos++;
    if (this.atEnd()) return "";
    const c = this.line[this.pos];
    this.pos++;
    const simple = SIMPLE_ESCAPES.get(c);
    if (simple !== undefined) return simple;
    if (c === "x") return this.hexEscape(at);
    if (c === "u") return this.unicodeEscape(at);
    if (c === "0" && !DECIMAL.test(this.peek())) return "\0";
    if (DECIMAL.test(c)) this.fail("octal escapes are not allowed (use \\x or \\u)", at);
    return c; // \\ \' \" \` and identity escapes, as in JS
  }

  /** `\xHH`, with `pos` after the `x`. */
  private hexEscape(at: number): string {
    const digits = this.line.slice(this.pos, Math.min(this.pos + 2, this.end));
    if (!/^[0-9a-fA-F]{2}$/.test(digits)) this.fail("expected two hex digits after '\\x'", at);
    this.pos += 2;
    return String.fromCharCode(parseInt(digits, 16));
  }

  /** `\uHHHH` or `\u{H...}` (at most 10FFFF), with `pos` after the `u`. */
  private unicodeEscape(at: number): string {
    if (this.peek() !== "{") {
      const digits = this.line.slice(this.pos, Math.min(this.pos + 4, this.end));
      if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail("expected four hex digits or {...} after '\\u'", at);
      this.pos += 4;
      return String.fromCharCode(parseInt(digits, 16));
    }
    this.pos++;
    const digits = this.scan(/[0-9a-fA-F]/);
    if (digits === "" || this.peek() !== "}") this.fail("expected hex digits and '}' in '\\u{...}'", at);
    this.pos++;
    const code = parseInt(digits, 16);
    if (code > 0x10ffff) this.fail("code point above 10FFFF in '\\u{...}'", at);
    return String.fromCodePoint(code);
  }

  // ---- numbers ---------------------------------------------------------------------

  private atNumber(): boolean {
    const c = this.peek();
    return (c !== "" && DECIMAL.test(c)) || (c === "." && DECIMAL.test(this.peek(1)) && this.peek(1) !== "");
  }

  /** `-5`, `+1.5`, `-Infinity`, `-10n`: a sign directly followed by a number. */
  private signed(): number | bigint {
    const sign = this.line[this.pos];
    this.pos++;
    let value: number | bigint;
    if (this.atNumber()) {
      value = this.number();
    } else {
      const at = this.pos;
      const word = this.scan(IDENT_CHAR);
      if (word !== "Infinity" && word !== "NaN") this.fail(`expected a number after '${sign}'`, at);
      value = word === "Infinity" ? Infinity : NaN;
    }
    if (sign === "+") return value;
    return -value;
  }

  /** An unsigned number or bigint, with `pos` at its first digit (or `.`). */
  private number(): number | bigint {
    const radix = RADIXES.get(this.peek(1).toLowerCase());
    if (this.peek() === "0" && radix !== undefined) return this.radixNumber(radix.name, radix.digit);
    return this.decimalNumber();
  }

  /** `0x1F`, `0o17`, `0b1010`, each optionally `n`. */
  private radixNumber(name: string, digit: RegExp): number | bigint {
    const prefix = this.line.slice(this.pos, this.pos + 2).toLowerCase();
    this.pos += 2;
    const digits = this.digits(digit);
    if (digits === "") this.fail(`expected ${name} digits after '${prefix}'`);
    const next = this.peek();
    if (next !== "n" && next !== "" && /[0-9A-Za-z]/.test(next)) this.fail(`${show(next)} is not a ${name} digit`);
    const big = next === "n";
    if (big) this.pos++;
    this.checkNumberEnd();
    return big ? BigInt(prefix + digits) : Number(prefix + digits);
  }

  /** `12`, `1_000`, `3.`, `.5`, `2.5e-3`, `10n`. */
  private decimalNumber(): number | bigint {
    const start = this.pos;
    const int = this.digits(DECIMAL);
    if (int.length > 1 && int[0] === "0") this.fail("a number may not start with 0 (write 0o17 for octal)", start);
    let isInteger = true;
    let text = int;
    if (this.peek() === ".") {
      this.pos++;
      isInteger = false;
      text += "." + this.digits(DECIMAL);
    }
    if (this.peek() === "e" || this.peek() === "E") {
      isInteger = false;
      text += "e" + this.exponent();
    }
    if (this.peek() === "n") {
      if (!isInteger) this.fail("a bigint must be an integer", start);
      this.pos++;
      this.checkNumberEnd();
      return BigInt(int);
    }
    this.checkNumberEnd();
    return Number(text);
  }

  /** The signed digits after `e`, with `pos` at the `e`. */
  private exponent(): string {
    this.pos++;
    let sign = "";
    if (this.peek() === "+" || this.peek() === "-") {
      sign = this.peek();
      this.pos++;
    }
    const digits = this.digits(DECIMAL);
    if (digits === "") this.fail("expected digits in the exponent");
    return sign + digits;
  }

  /** Digits matching `digit`, `_` allowed between two of them; returns them without `_`. */
  private digits(digit: RegExp): string {
    let out = "";
    for (;;) {
      const c = this.peek();
      if (c !== "" && digit.test(c)) {
        out += c;
      } else if (c === "_") {
        const next = this.peek(1);
        if (out === "" || next === "" || !digit.test(next)) this.fail("'_' must sit between two digits");
      } else {
        return out;
      }
      this.pos++;
    }
  }

  /** A number may not run into a name (`5px`, `3in`). */
  private checkNumberEnd(): void {
    const c = this.peek();
    if (c !== "" && IDENT_CHAR.test(c)) this.fail(`unexpected ${show(c)} after the number`);
  }
}

/** Object entries in first-seen key order, the last value winning (as in JS). */
function mergeRepeatedKeys(entries: [string, Expr][]): [string, Expr][] {
  const index = new Map<string, number>();
  const out: [string, Expr][] = [];
  for (const [key, value] of entries) {
    const i = index.get(key);
    if (i === undefined) {
      index.set(key, out.length);
      out.push([key, value]);
    } else {
      out[i] = [key, value];
    }
  }
  return out;
}
