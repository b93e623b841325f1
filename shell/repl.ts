/**
 * Repl: the interactive shell (`clouds shell`, and `clouds up` without --detach).
 *
 * On a terminal: a `clouds> ` prompt with line editing and history; errors print as one
 * line and the shell goes on; `exit` or Ctrl-D leaves. Ctrl-C never leaves (nor stops a
 * cluster `clouds up` started): during an invocation it kills the invocation's thread (its
 * line then fails with ThreadKilledError), at the prompt it clears the line. With stdin not a terminal it runs
 * the lines it reads, in order, printing results to stdout and errors to stderr, and
 * returns false if any line failed.
 *
 * Lines a method prints (`this.print`) in a thread this shell started arrive while the
 * invocation runs and are written on their own lines as they come, before its result.
 */
import * as readline from "node:readline";
import type { Cluster } from "./client/cluster.js";
import { ShellSession } from "./shell-session.js";

export async function runRepl(cluster: Cluster, input = process.stdin, output = process.stdout): Promise<boolean> {
  const interactive = Boolean((input as { isTTY?: boolean }).isTTY);
  const session = new ShellSession(cluster, interactive && Boolean(output.isTTY));
  const rl = readline.createInterface({ input, output: interactive ? output : undefined, terminal: interactive, historySize: 500 });
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
    const result = await session.run(line);
    for (const out of result.output) output.write(out + "\n");
    if (result.error) {
      ok = false;
      (interactive ? output : process.stderr).write(`error: ${result.error}\n`);
    }
    if (result.exit) break;
    prompt();
  }
  rl.close();
  cluster.off("print", onPrint);
  return ok;
}
