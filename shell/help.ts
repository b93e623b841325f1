/**
 * Help: the text behind `help` and `help CMD`, one entry per kind of shell line.
 *
 * HELP is also where the line parser takes each command's usage from, so an operand error
 * (`mv needs two names: mv A B`) and `help mv` never disagree. Keys are the command kinds
 * of shell-command.ts (`invoke` is the `Name.entry(args)` line); `quit` is an alias of
 * `exit`. Keep `usage` to one line: the overview prints it as a column.
 */
import type { CommandKind } from "./shell-command.js";

export interface HelpEntry {
  /** The line's shape, e.g. `mv A B`. */
  usage: string;
  /** One line: what it does. */
  summary: string;
  /** A few lines: operands, output, examples. */
  details: string;
}

const ARGUMENTS = [
  "Arguments are JS literals or names of objects, separated by commas:",
  "  numbers 42 -1.5 2e3 0xff 0b101 0o17 1_000 Infinity NaN   bigints 10n -5n",
  "  strings 'a' \"b\" `c` with escapes \\n \\t \\xHH \\u{...} (no ${...})",
  "  true false null undefined   new Date(\"2024-05-01T00:00:00Z\") or new Date(ms)",
  "  arrays [1, [2, \"x\"]]   objects {w: 3, \"h\": 4}   trailing commas allowed",
  "  a bare name or path (RectA, ../RectA, /users/ana/RectA) passes that object.",
  "No calls, operators, spread or regexes; a comment (# or //) may only end the line.",
].join("\n");

export const HELP: Record<CommandKind, HelpEntry> = {
  load: {
    usage: "load [--check] FILE",
    summary: "compile the classes in a .ts file and register them",
    details: "Bundles FILE with its relative imports and registers each class it exports.\n" +
      "Loading a changed class registers a new version: existing objects keep their data and\n" +
      "run the new code from their next invocation (info NAME shows the version).\n" +
      "--check type-checks FILE first (needs the typescript package) and registers nothing\n" +
      "if it has type errors. Quote FILE if it contains spaces: load \"my classes/shapes.ts\".",
  },
  new: {
    usage: "new Class Name[(args)]",
    summary: "create an object of Class, run its constructor once, bind Name",
    details: "Name may be a path (/users/ana/RectA). The constructor gets the arguments.\n" +
      "Example: new Rectangle RectA(5, 10)\n\n" + ARGUMENTS,
  },
  invoke: {
    usage: "[@server] Name.entry(args) [&]",
    summary: "invoke an entry point of an object and print its result",
    details: "Name may be a path: RectA, ../RectA, /users/ana/RectA. In a.b.c(...) the entry is c.\n" +
      "@cs2 runs the invocation at compute server cs2; a trailing & starts it as a background\n" +
      "thread and prints its id (see threads, kill, trace).\n" +
      "Examples: RectA.size(5, 10)   @cs2 RectA.area()   Counter.run(1000) &\n\n" + ARGUMENTS,
  },
  ls: {
    usage: "ls [PATH]",
    summary: "list a directory of the name space (default: the current one)",
    details: "Shows each name with the class of its object, or / for a directory.",
  },
  cd: {
    usage: "cd PATH",
    summary: "change the current directory",
    details: "Relative names (RectA, dir/RectA, ../RectA) are resolved from it; / is the root.",
  },
  pwd: {
    usage: "pwd",
    summary: "print the current directory",
    details: "The shell starts at /.",
  },
  mv: {
    usage: "mv A B",
    summary: "rename (rebind) a name",
    details: "The object keeps its sysname; only the binding moves.",
  },
  rm: {
    usage: "rm [--force] NAME",
    summary: "delete an object and unbind its name",
    details: "The object's segments are freed once no thread is in it.\n" +
      "Names under /sys (servers, classes) are the cluster's own: rm refuses them. --force\n" +
      "removes one anyway: a server whose entry is removed registers again within a second;\n" +
      "a class removed cannot be used to create objects until it is loaded again.",
  },
  info: {
    usage: "info NAME",
    summary: "show an object's descriptor",
    details: "Sysname, class and version, home data server, segments and their sizes.",
  },
  inspect: {
    usage: "inspect [--depth N] NAME",
    summary: "show an object's persistent fields, decoded",
    details: "Each persistent field, decoded, with containers shown N levels down (default 3); below\n" +
      "that, and past 100 items, a container is summarized with its size (Array(12000),\n" +
      "... 11900 more items). References to other objects show as -> sysname. It runs none of\n" +
      "the class's code and writes nothing: it reads the pages as an entry would (the owner of\n" +
      "a page keeps a copy; it is recalled read-only for a moment).",
  },
  pages: {
    usage: "pages [--all] NAME",
    summary: "show the DSM state of an object's pages",
    details:
      "For the pages the object's home has served: segment, page numbers, versions, owner (the compute server holding\n" +
      "them writable), copyset (who may hold a copy), the versions last committed to disk, and how each compute server\n" +
      "holds them now (read/write, + if in its working set). Consecutive pages alike are one row (a big object has\n" +
      "thousands); --all prints one row per page, with each copy's version. Locks of the object are listed after.",
  },
  threads: {
    usage: "threads [--all]",
    summary: "list this shell's threads (--all: every thread in the cluster)",
    details: "One row per thread: its job number, id, the frame it is deepest in (Object.entry@cs1),\n" +
      "how deep, for how long, and what it does (running, waiting for a lock, a reply, a page).\n" +
      "This shell's threads come from its own records: compute servers report each frame that\n" +
      "ran 50 ms, so shorter ones do not show. --all asks every compute server for its frames.",
  },
  kill: {
    usage: "kill ID|%N",
    summary: "stop a thread, wherever it runs",
    details: "ID as shown by threads. Every frame of the thread stops, on every compute server (the\n" +
      "isiba workers running them are replaced); its uncommitted writes are discarded, as a\n" +
      "crash's would be, its locks given back, and its caller gets ThreadKilledError.\n" +
      "Ctrl-C kills the invocation the shell is waiting for.",
  },
  trace: {
    usage: "trace ID|%N",
    summary: "show a thread's events in causal order",
    details: "Invocations arriving and returning, frames entered and left, nested invocations, lock\n" +
      "waits, page faults, commits, prints, spawns and errors on every compute server it passed\n" +
      "through; on data servers, the faults they served it and the recalls and invalidations of\n" +
      "other servers' copies those cost (and on those servers, the copies taken back). Merged\n" +
      "and ordered by Lamport clock, with each one's server, time and duration.\n" +
      "ID as shown by threads, or %N for a background job.",
  },
  servers: {
    usage: "servers",
    summary: "list every server with role, address, health and load",
    details: "Every server registered with the name server (/sys/servers). health is up when the\n" +
      "server's registration lease runs (it renews it every 500 ms) and it answers a status\n" +
      "request within 1 s; down says why (connection closed, lease ran out, no answer).\n" +
      "Compute servers show their load: running isibas, event-loop lag (lagMs) and more.\n" +
      "While the name server is unreachable, the servers last known are shown, so marked.\n" +
      "ls /sys/servers lists every registration with its state as well.",
  },
  set: {
    usage: "set deadline DURATION|off",
    summary: "kill this shell's invocations that run longer than DURATION",
    details: "DURATION is 500ms, 5s, 2m... An invocation still running then is killed wherever it is\n" +
      "(its nested invocations inherit what is left) and fails with DeadlineExceededError naming\n" +
      "the frame it was in; its uncommitted writes are discarded. set deadline off: no deadline.",
  },
  help: {
    usage: "help [CMD]",
    summary: "list the commands, or explain one",
    details: "help invoke explains Name.entry(args) and the argument literals.",
  },
  exit: {
    usage: "exit",
    summary: "leave the shell (also: quit)",
    details: "Background threads keep running in the cluster.",
  },
};

const ALIASES = new Map<string, CommandKind>([["quit", "exit"]]);

function topicOf(cmd: string): CommandKind | undefined {
  const alias = ALIASES.get(cmd);
  if (alias !== undefined) return alias;
  return Object.hasOwn(HELP, cmd) ? (cmd as CommandKind) : undefined;
}

function overview(): string {
  const entries = Object.values(HELP);
  const width = Math.max(...entries.map((e) => e.usage.length));
  const rows = entries.map((e) => `  ${e.usage.padEnd(width)}  ${e.summary}`);
  return ["Commands:", ...rows, "", "# or // after a space starts a comment, to the end of the line. Type 'help CMD' for details."].join("\n");
}

/** The overview table without `cmd`; the usage, summary and details of one command with it. */
export function helpText(cmd?: string): string {
  const name = cmd?.trim() ?? "";
  if (name === "") return overview();
  const topic = topicOf(name);
  if (topic === undefined) return `no such command '${name}' (try 'help')`;
  const entry = HELP[topic];
  return `${entry.usage}\n  ${entry.summary}\n\n${entry.details}`;
}
