/**
 * parseLine: one shell line -> one ShellCommand (shell-command.ts). Pure: no I/O, no
 * name resolution; the same grammar serves `clouds shell` and `clouds exec`.
 *
 *   load [--check] FILE | new Class Name[(args)] | [@server] Name.entry(args) [&]
 *   ls [PATH] | cd PATH | pwd | mv A B | rm [--force] NAME | info NAME | inspect [--depth N] NAME | pages [--all] NAME
 *   threads [--all] | kill ID | trace ID | servers | set deadline DURATION|off | help [CMD] | exit | quit
 *
 * A line is read left to right by one cursor (LiteralParser, which also reads the
 * arguments). If the line starts with a command word followed by a space or the end, it
 * is that command and the rest are operands (bare words, or '...' / "..." strings);
 * otherwise it must be an invocation. In `a.b.c(...)` the entry is the part after the
 * last dot (`c`) and the target is the rest (`a.b`): dots are legal in names.
 * A `#` or `//` at the start or after a space, outside a string, begins a comment that runs to
 * the end of the line (`@cs2 RectA.area()   # the same object`); blank lines and comment
 * lines are `{kind: "empty"}`.
 *
 * Every malformed line throws LineSyntaxError naming what was expected and the column;
 * nothing else is ever thrown.
 */
import { isServerId } from "../ra-kernel/ids.js";
import { LineSyntaxError } from "./errors.js";
import { HELP } from "./help.js";
import { checkLineSize, isIdentifier, isObjectPath, isPath, isSpace, LiteralParser, show } from "./literal-parser.js";
import type { CommandKind, Expr, LoadCommand, ShellCommand } from "./shell-command.js";

/** What an operand must look like. */
type OperandKind = "file" | "path" | "id" | "topic" | "all" | "setting" | "duration";

interface CommandSpec {
  kind: CommandKind;
  operands: OperandKind[];
  /** How many of the trailing operands may be left out. */
  optional?: number;
  /** The arity message, completed with the usage: `mv needs two names`. */
  needs: string;
  build(operands: string[]): ShellCommand;
}

/** A word after the command, and where it starts. */
interface Operand {
  text: string;
  at: number;
}

const THREAD_ID = /^(?:[A-Za-z0-9_:.-]+|%\d+)$/;
/** A duration operand: a positive number with a unit (checked by checkOperand, read by durationMs). */
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** A checked duration operand in ms; null for `off`. */
function durationMs(text: string): number | null {
  if (text === "off") return null;
  const [, n, unit] = DURATION.exec(text)!;
  return Number(n) * UNIT_MS[unit];
}
/** Characters of the `Name.entry` head of an invocation (and of `new`'s Name). */
const HEAD_CHAR = /[A-Za-z0-9_$./-]/;
const NON_SPACE = /\S/;

function spec(
  kind: CommandKind,
  operands: OperandKind[],
  needs: string,
  build: CommandSpec["build"],
  optional = 0,
): CommandSpec {
  return { kind, operands, needs, build, optional };
}

const noOperands = (kind: CommandKind, word: string) =>
  spec(kind, [], `${word} takes no operands`, () => ({ kind }) as ShellCommand);

const oneName = (kind: "rm" | "info" | "inspect" | "pages") =>
  spec(kind, ["path"], `${kind} needs one name`, ([name]) => ({ kind, name }));

const oneThread = (kind: "kill" | "trace") =>
  spec(kind, ["id"], `${kind} needs one thread id`, ([id]) => ({ kind, id }));

/** Every command word but `new`, which has its own grammar. */
const COMMANDS = new Map<string, CommandSpec>([
  ["load", spec("load", ["file"], "load needs one file (quote it if it has spaces)", ([file]) => ({ kind: "load", file }))],
  ["ls", spec("ls", ["path"], "ls takes at most one path",
    ([path]) => (path === undefined ? { kind: "ls" } : { kind: "ls", path }), 1)],
  ["cd", spec("cd", ["path"], "cd needs one path", ([path]) => ({ kind: "cd", path }))],
  ["pwd", noOperands("pwd", "pwd")],
  ["mv", spec("mv", ["path", "path"], "mv needs two names", ([from, to]) => ({ kind: "mv", from, to }))],
  ["rm", oneName("rm")],
  ["info", oneName("info")],
  ["inspect", oneName("inspect")],
  ["pages", oneName("pages")],
  ["threads", spec("threads", ["all"], "threads takes at most --all",
    ([all]) => (all === undefined ? { kind: "threads" } : { kind: "threads", all: true }), 1)],
  ["kill", oneThread("kill")],
  ["trace", oneThread("trace")],
  ["servers", noOperands("servers", "servers")],
  ["set", spec("set", ["setting", "duration"], "set needs a setting and its value", ([, value]) => ({ kind: "set", deadlineMs: durationMs(value) }))],
  ["help", spec("help", ["topic"], "help takes at most one command",
    ([command]) => (command === undefined ? { kind: "help" } : { kind: "help", command }), 1)],
  ["exit", noOperands("exit", "exit")],
  ["quit", noOperands("exit", "quit")],
]);

/** The command a line stands for; throws LineSyntaxError if it stands for none. */
export function parseLine(line: string): ShellCommand {
  checkLineSize(line);
  const start = line.search(NON_SPACE);
  if (start < 0) return { kind: "empty" };
  const end = trimmedEnd(line, commentStart(line, start));
  if (end <= start) return { kind: "empty" };
  const breakAt = line.slice(start, end).search(/[\r\n]/);
  if (breakAt >= 0) throw LineSyntaxError.at(line, start + breakAt, "a shell line cannot contain a line break");
  return parseCommand(new LiteralParser(line, start, end));
}

function trimmedEnd(line: string, from = line.length): number {
  let end = from;
  while (end > 0 && isSpace(line[end - 1])) end--;
  return end;
}

/**
 * Where the line's comment begins (its length if it has none): the first `#` or `//` outside
 * a '...', "..." or `...` string that starts the line or follows a space. An unterminated
 * string runs to the end (the parser then says so).
 */
function commentStart(line: string, from: number): number {
  let quote = "";
  for (let i = from; i < line.length; i++) {
    const c = line[i];
    if (quote !== "") {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
      continue;
    }
    if (c === "'" || c === '"' || c === "`") quote = c;
    else if ((c === "#" || (c === "/" && line[i + 1] === "/")) && (i === from || isSpace(line[i - 1]))) return i;
  }
  return line.length;
}

function parseCommand(p: LiteralParser): ShellCommand {
  const word = commandWord(p);
  if (word === "new") return parseNew(p);
  const command = word === undefined ? undefined : COMMANDS.get(word);
  if (word === "load") return parseLoad(p, command!);
  if (word === "rm") return withFlag(p, command!, FORCE_FLAG, "force");
  if (word === "pages") return withFlag(p, command!, ALL_FLAG, "all");
  if (word === "inspect") return parseInspect(p, command!);
  if (command !== undefined) return parseOperands(p, command);
  if (p.peek() === "@") return parseHinted(p);
  return parseInvoke(p, undefined);
}

/** The command word at `pos` (`new` or a key of COMMANDS) followed by a space or the end: consumed and returned; else undefined. */
function commandWord(p: LiteralParser): string | undefined {
  let i = p.pos;
  while (i < p.end && p.line[i] >= "a" && p.line[i] <= "z") i++;
  if (i === p.pos || (i < p.end && !isSpace(p.line[i]))) return undefined;
  const word = p.line.slice(p.pos, i);
  if (word !== "new" && !COMMANDS.has(word)) return undefined;
  p.pos = i;
  return word;
}

// ---- commands with operands ----------------------------------------------------------

function parseOperands(p: LiteralParser, command: CommandSpec, operands = readOperands(p)): ShellCommand {
  const max = command.operands.length;
  const min = max - (command.optional ?? 0);
  const message = `${command.needs}: ${HELP[command.kind].usage}`;
  if (operands.length < min) throw LineSyntaxError.plain(p.line, p.end, message);
  if (operands.length > max) {
    const extra = operands[max];
    throw LineSyntaxError.plain(p.line, extra.at, `${message} (unexpected '${clip(extra.text)}' at column ${extra.at + 1})`);
  }
  operands.forEach((operand, i) => checkOperand(p, command.operands[i], operand));
  return command.build(operands.map((o) => o.text));
}

const CHECK_FLAG = "--check";

/** `load [--check] FILE` (the flag before or after the file): type-check before registering. */
function parseLoad(p: LiteralParser, command: CommandSpec): ShellCommand {
  const operands = readOperands(p);
  const files = operands.filter((o) => o.text !== CHECK_FLAG);
  const load = parseOperands(p, command, files) as LoadCommand;
  return files.length < operands.length ? { ...load, check: true } : load;
}

const FORCE_FLAG = "--force";
const ALL_FLAG = "--all";

/** `rm [--force] NAME`, `pages [--all] NAME`: the flag before or after the name sets `field`. */
function withFlag(p: LiteralParser, command: CommandSpec, flag: string, field: "force" | "all"): ShellCommand {
  const operands = readOperands(p);
  const names = operands.filter((o) => o.text !== flag);
  const parsed = parseOperands(p, command, names);
  return names.length < operands.length ? ({ ...parsed, [field]: true } as ShellCommand) : parsed;
}

const DEPTH_FLAG = "--depth";
/** Most container levels `inspect --depth` shows. */
const MAX_INSPECT_DEPTH = 20;

/** `inspect [--depth N] NAME` (the option before or after the name). */
function parseInspect(p: LiteralParser, command: CommandSpec): ShellCommand {
  const operands = readOperands(p);
  const at = operands.findIndex((o) => o.text === DEPTH_FLAG);
  if (at < 0) return parseOperands(p, command, operands);
  const value = operands[at + 1];
  if (!value || !/^\d+$/.test(value.text) || Number(value.text) > MAX_INSPECT_DEPTH) {
    p.fail(`--depth needs a number of levels, 0 to ${MAX_INSPECT_DEPTH}${value ? `, not '${clip(value.text)}'` : ""}`, value?.at ?? operands[at].at);
  }
  const inspect = parseOperands(p, command, operands.filter((_, i) => i !== at && i !== at + 1));
  return { ...inspect, depth: Number(value.text) } as ShellCommand;
}

function readOperands(p: LiteralParser): Operand[] {
  const operands: Operand[] = [];
  for (p.skipSpaces(); !p.atEnd(); p.skipSpaces()) operands.push(readOperand(p));
  return operands;
}

/** A bare word, or a '...' / "..." string followed by a space or the end. */
function readOperand(p: LiteralParser): Operand {
  const at = p.pos;
  const quote = p.peek();
  if (quote !== "'" && quote !== '"') return { text: p.scan(NON_SPACE), at };
  const text = p.string();
  if (!p.atEnd() && !isSpace(p.peek())) p.fail(`expected a space after the quoted operand, found ${show(p.peek())}`);
  return { text, at };
}

function checkOperand(p: LiteralParser, kind: OperandKind, operand: Operand): void {
  const { text, at } = operand;
  if (kind === "file" && text === "") p.fail("expected a file name", at);
  if (kind === "path" && !isPath(text)) {
    p.fail(`'${clip(text)}' is not a valid path (components use A-Z a-z 0-9 _ . -, separated by /)`, at);
  }
  if (kind === "id" && !THREAD_ID.test(text)) p.fail(`'${clip(text)}' is not a thread id`, at);
  if (kind === "all" && text !== "--all") p.fail(`expected --all, found '${clip(text)}'`, at);
  if (kind === "setting" && text !== "deadline") p.fail(`unknown setting '${clip(text)}' (settings: deadline)`, at);
  if (kind === "duration" && text !== "off" && !DURATION.test(text)) p.fail(`'${clip(text)}' is not a duration (e.g. 500ms, 5s, 2m, or off)`, at);
}

// ---- new -------------------------------------------------------------------------------

const NEW_USAGE = `new needs a class and a name: ${HELP.new.usage}`;

/** `new Class Name` or `new Class Name(args)`, with `pos` after `new`. */
function parseNew(p: LiteralParser): ShellCommand {
  p.skipSpaces();
  const className = readClassName(p);
  if (p.atEnd()) throw LineSyntaxError.plain(p.line, p.end, NEW_USAGE);
  if (!isSpace(p.peek())) p.fail(`expected a space after the class name '${className}', found ${show(p.peek())}`);
  p.skipSpaces();
  const name = readNewName(p);
  p.skipSpaces();
  const hasArgs = p.peek() === "(";
  const args: Expr[] = hasArgs ? p.argumentList() : [];
  p.skipSpaces();
  if (!p.atEnd()) {
    const after = hasArgs ? "the argument list" : `the name '${clip(name)}' (expected '(' or the end)`;
    p.fail(`unexpected ${show(p.peek())} after ${after}`);
  }
  return { kind: "new", className, name, args };
}

function readClassName(p: LiteralParser): string {
  if (p.atEnd()) throw LineSyntaxError.plain(p.line, p.end, NEW_USAGE);
  const at = p.pos;
  const className = p.scan(/[A-Za-z0-9_$]/);
  if (className === "") p.fail(`expected a class name after 'new', found ${show(p.peek())}`);
  if (!isIdentifier(className)) p.fail(`'${clip(className)}' is not a class name`, at);
  return className;
}

function readNewName(p: LiteralParser): string {
  const at = p.pos;
  const name = p.scan(HEAD_CHAR);
  if (name === "") p.fail(`expected an object name after the class name, found ${show(p.peek())}`);
  if (!isObjectPath(name)) p.fail(`'${clip(name)}' is not a valid object name (components use A-Z a-z 0-9 _ . -)`, at);
  return name;
}

// ---- invocations -------------------------------------------------------------------------

/** `@cs2 Name.entry(args) [&]`. */
function parseHinted(p: LiteralParser): ShellCommand {
  const at = p.pos;
  p.pos++;
  const server = p.scan(/[a-z0-9_-]/);
  if (server === "") p.fail(`expected a server id after '@' (a lowercase letter, then a-z 0-9 _ -), found ${show(p.peek())}`);
  if (!isServerId(server)) p.fail(`'@${clip(server)}' is not a server id (a lowercase letter, then a-z 0-9 _ -)`, at);
  const expected = `expected Name.entry(args) after the location hint '@${server}'`;
  if (p.atEnd()) p.fail(expected);
  if (!isSpace(p.peek())) p.fail(`expected a space after the location hint '@${server}', found ${show(p.peek())}`);
  p.skipSpaces();
  const before = p.pos;
  if (commandWord(p) !== undefined) p.fail(`a location hint applies only to Name.entry(args), not to '${p.line.slice(before, p.pos)}'`, before);
  return parseInvoke(p, server);
}

/** `Name.entry(args) [&]`, the hint (if any) already read. */
function parseInvoke(p: LiteralParser, at: string | undefined): ShellCommand {
  const headAt = p.pos;
  const head = p.scan(HEAD_CHAR);
  const afterHead = p.pos;
  p.skipSpaces();
  const dot = head.lastIndexOf(".");
  const entry = head.slice(dot + 1);
  const target = head.slice(0, Math.max(dot, 0));
  if (p.peek() !== "(") {
    if (dot > 0 && isIdentifier(entry) && isObjectPath(target)) p.fail(`expected '(' after entry name '${entry}'`);
    if (at !== undefined) p.fail(`expected Name.entry(args) after the location hint '@${at}'`, headAt);
    unknownCommand(p, headAt);
  }
  if (dot < 0) p.fail(`expected '.' and an entry name after '${clip(head)}' (invoke as Name.entry(args))`, afterHead);
  checkInvokeHead(p, headAt, target, entry, dot);
  const args = p.argumentList();
  const background = readBackground(p);
  return at === undefined
    ? { kind: "invoke", target, entry, args, background }
    : { kind: "invoke", target, entry, args, at, background };
}

function checkInvokeHead(p: LiteralParser, headAt: number, target: string, entry: string, dot: number): void {
  if (entry === "") p.fail("expected an entry name after '.'", headAt + dot + 1);
  if (!isIdentifier(entry)) p.fail(`'${clip(entry)}' is not an entry name (A-Z a-z 0-9 _ $, not starting with a digit)`, headAt + dot + 1);
  if (target === "") p.fail(`expected an object name before '.${entry}'`, headAt);
  if (!isObjectPath(target)) p.fail(`'${clip(target)}' is not a valid object name (components use A-Z a-z 0-9 _ . -)`, headAt);
}

/** An optional `&` after the argument list, then the end of the line. */
function readBackground(p: LiteralParser): boolean {
  p.skipSpaces();
  if (p.atEnd()) return false;
  if (p.peek() !== "&") p.fail(`unexpected ${show(p.peek())} after the argument list (only '&' may follow)`);
  p.pos++;
  p.skipSpaces();
  if (!p.atEnd()) p.fail(`unexpected ${show(p.peek())} after '&' (it must end the line)`);
  return true;
}

function unknownCommand(p: LiteralParser, at: number): never {
  let end = at;
  while (end < p.end && !isSpace(p.line[end])) end++;
  const word = p.line.slice(at, end);
  throw LineSyntaxError.plain(p.line, at, `unknown command '${clip(word)}' (try 'help')`);
}

/** At most 40 characters of user text, for messages. */
function clip(text: string): string {
  return text.length <= 40 ? text : `${text.slice(0, 37)}...`;
}
