/**
 * Repl: the interactive shell (`clouds shell`, and `clouds up` without --detach).
 *
 * On a terminal: a `clouds> ` prompt with line editing and history; errors print as one
 * line and the shell goes on; `exit` or Ctrl-D leaves. Ctrl-C never leaves (nor stops a
 * cluster `clouds up` started): during an invocation it kills the invocation's thread (its
 * line then fails with ThreadKilledError), at the prompt it clears the line. With stdin not
 * a terminal it runs the lines it reads, in order, printing results to stdout and errors to
 * stderr, and returns false if any line failed.
 *
 * `Name.entry(args) &` starts a background thread and prints `[N] THREAD-ID` at once; its end
 * prints `[N] done: RESULT` or `[N] failed: ERROR` on a line of its own whenever it comes.
 *
 * Lines a method prints (`this.print`) in a thread this shell started arrive while the
 * invocation runs and are written on their own lines as they come, before its result.
 *
 * On a terminal, Tab completes (ShellCompleter: commands, names, paths, `Name.` + entries,
 * `@` + compute servers) and the lines typed are kept across sessions in ~/.clouds_history
 * (or $CLOUDS_HISTORY; the last HISTORY_LINES), as node's REPL and psql keep theirs.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import type { Cluster } from "./client/cluster.js";
import { ShellSession } from "./shell-session.js";
import { ShellCompleter } from "./shell-completer.js";

/** Lines of history kept (in memory and in the file). */
const HISTORY_LINES = 1000;

/** Where the history is kept: $CLOUDS_HISTORY, else ~/.clouds_history. */
export function historyFile(): string {
  return process.env.CLOUDS_HISTORY ?? path.join(homedir(), ".clouds_history");
}

/** The history file's lines, newest first (readline's order), at most HISTORY_LINES; [] if unreadable. */
function loadHistory(file: string): string[] {
  try {
    if (!existsSync(file)) return [];
    const lines = readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "");
    if (lines.length > HISTORY_LINES * 2) writeFileSync(file, lines.slice(-HISTORY_LINES).join("\n") + "\n", { mode: 0o600 });
    return lines.slice(-HISTORY_LINES).reverse();
  } catch {
    return [];
  }
}

function remember(file: string, line: string): void {
  if (line.trim() === "") return;
  try {
    appendFileSync(file, `${line}\n`, { mode: 0o600 });
  } catch {
    /* history is a convenience: a file we cannot write is no error */
  }
}

function completerFor(cluster: Cluster, session: ShellSession): ShellCompleter {
  return new ShellCompleter({
    list: async (dir) => (await cluster.names()).list(dir).catch(() => []),
    lookup: (p) => cluster.lookup(p).catch(() => null),
    computeServers: async () => (await cluster.serverList().catch(() => [])).filter((s) => s.role === "compute").map((s) => s.id),
    cwd: () => session.currentDirectory,
  });
}

/** How long piped input's end waits for background threads still running (ms). */
const BACKGROUND_GRACE_MS = 5000;

export async function runRepl(cluster: Cluster, input = process.stdin, output = process.stdout): Promise<boolean> {
  const interactive = Boolean((input as { isTTY?: boolean }).isTTY);
  let busy = false;
  // A background thread's end: its own line, above the prompt (and the line being typed).
  const onJobEnd = (line: string) => {
    if (!interactive) return void output.write(`${line}\n`);
    output.write(`\r\x1b[K${line}\n`);
    if (!busy) rl.prompt(true);
  };
  const session = new ShellSession(cluster, { color: interactive && Boolean(output.isTTY), onJobEnd });
  const history = interactive ? historyFile() : undefined;
  const completer = completerFor(cluster, session);
  const rl = readline.createInterface({
    input, output: interactive ? output : undefined, terminal: interactive, historySize: HISTORY_LINES,
    ...(history ? { history: loadHistory(history) } : {}),
    ...(interactive ? { completer: (line: string, cb: (err: Error | null, result: [string[], string]) => void) => void completer.complete(line).then((r) => cb(null, r)) } : {}),
  });
  const onPrint = (_thread: string, text: string) => output.write(`${text}\n`);
  cluster.on("print", onPrint);
  let ok = true;
  const prompt = () => interactive && rl.prompt();
  rl.setPrompt("clouds> ");
  // A listener keeps readline from closing on Ctrl-C (its default), which ended the shell.
  rl.on("SIGINT", () => {
    output.write("^C\n");
    if (session.interrupt()) return;
    rl.write(null, { ctrl: true, name: "e" }); // the line typed so far goes
    rl.write(null, { ctrl: true, name: "u" });
    prompt();
  });
  if (interactive) output.write("Clouds/TS shell. Type 'help' for commands, 'exit' to leave.\n");
  prompt();
  for await (const line of rl) {
    if (history) remember(history, line);
    busy = true;
    const result = await session.run(line);
    busy = false;
    for (const out of result.output) output.write(out + "\n");
    if (result.error) {
      ok = false;
      (interactive ? output : process.stderr).write(`error: ${result.error}\n`);
    }
    if (result.exit) break;
    prompt();
  }
  rl.close();
  // Piped input ended: background threads still running get a moment to end (their lines are
  // part of the output), then go on in the cluster without us.
  if (!interactive && session.backgroundJobs.size > 0) {
    for (const n of await session.backgroundJobs.settle(BACKGROUND_GRACE_MS)) output.write(`[${n}] still running: it goes on in the cluster (kill it with kill)\n`);
  }
  cluster.off("print", onPrint);
  return ok;
}
