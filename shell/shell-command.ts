/**
 * ShellCommand: what one shell line means, as data.
 *
 * `parseLine` (line-parser.ts) turns a line typed at `clouds shell` or given to
 * `clouds exec` into one of these; the shell then carries it out. The parser is pure: it
 * never resolves names, reads files or talks to servers, so a ShellCommand says only what
 * the user wrote. Names of objects stay names (`{kind: "name"}` in arguments, plain strings
 * in operands) until the shell resolves them against its current directory.
 *
 * Optional fields (`at`, `path`, `command`) are absent, not `undefined`, when not written.
 */

/**
 * One argument of an invocation or a constructor, as written.
 * - literal: a JS value the parser built (number, bigint, string, boolean, null,
 *   undefined, Date);
 * - name: a bare name or path of an object (`RectA`, `/users/ana/RectA`), resolved later;
 * - array / object: containers whose items may be names as well as literals. Object
 *   entries keep the order written; a repeated key keeps its first position and last value.
 */
export type Expr =
  | { kind: "literal"; value: unknown }
  | { kind: "name"; path: string }
  | { kind: "array"; items: Expr[] }
  | { kind: "object"; entries: [string, Expr][] };

/** A blank line or a `#` comment line: nothing to do. */
export interface EmptyCommand { kind: "empty" }
/** `load [--check] FILE`: compile a class file (type-check it first with --check) and register its classes. */
export interface LoadCommand { kind: "load"; file: string; check?: true }
/** `new Class Name(args)`: create an object, run its constructor, bind Name. */
export interface NewCommand { kind: "new"; className: string; name: string; args: Expr[] }
/** `[@server] Name.entry(args) [&]`: invoke an entry point. */
export interface InvokeCommand {
  kind: "invoke";
  /** The object's name or path, as written (`RectA`, `../RectA`, `/users/ana/RectA`). */
  target: string;
  entry: string;
  args: Expr[];
  /** Location hint: the compute server to run at (`@cs2`). */
  at?: string;
  /** `&`: start as a background thread and print its id. */
  background: boolean;
}
export interface LsCommand { kind: "ls"; path?: string }
export interface CdCommand { kind: "cd"; path: string }
export interface PwdCommand { kind: "pwd" }
export interface MvCommand { kind: "mv"; from: string; to: string }
/** `rm [--force] NAME`: `force` removes even a name under /sys (the name server refuses it otherwise). */
export interface RmCommand { kind: "rm"; name: string; force?: true }
/** `info NAME`: the object's descriptor. */
export interface InfoCommand { kind: "info"; name: string }
/** `inspect NAME`: its decoded persistent fields. */
export interface InspectCommand { kind: "inspect"; name: string; depth?: number }
/** `pages NAME`: the DSM state of each of its pages. */
/** `pages [--all] NAME`: runs of pages alike, or (`all`) every page. */
export interface PagesCommand { kind: "pages"; name: string; all?: true }
/** `threads`: this shell's threads; `--all`: every thread in the cluster. */
export interface ThreadsCommand { kind: "threads"; all?: true }
export interface KillCommand { kind: "kill"; id: string }
export interface TraceCommand { kind: "trace"; id: string }
export interface ServersCommand { kind: "servers" }
/** `set deadline 5s` / `set deadline off`: this shell's invocations are killed past it (ms; null: none). */
export interface SetDeadlineCommand { kind: "set"; deadlineMs: number | null }
export interface HelpCommand { kind: "help"; command?: string }
/** `exit` or `quit`. */
export interface ExitCommand { kind: "exit" }

export type ShellCommand =
  | EmptyCommand
  | LoadCommand
  | NewCommand
  | InvokeCommand
  | LsCommand
  | CdCommand
  | PwdCommand
  | MvCommand
  | RmCommand
  | InfoCommand
  | InspectCommand
  | PagesCommand
  | ThreadsCommand
  | KillCommand
  | TraceCommand
  | ServersCommand
  | SetDeadlineCommand
  | HelpCommand
  | ExitCommand;

/** Every kind of command but `empty`: the topics of `help`. */
export type CommandKind = Exclude<ShellCommand["kind"], "empty">;
