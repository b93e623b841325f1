/**
 * NetnsClient: a typed-client workstation running inside a network namespace (where the test
 * process cannot be), driven over the child's stdin/stdout with one JSON line per call.
 *
 *   const ws = NetnsClient.start(net, "a", dir);
 *   await ws.call("load", [file]); await ws.call("create", ["Pair", "P"]);
 *   const r = await ws.call("invoke", ["P", "bump", [], "cs2"]);   // {ok, value} or {ok:false, error}
 *   ws.prints  // thread output received, in order
 *
 * The child is test/support/netns-client-main.ts; `close` ends it.
 */
import * as path from "node:path";
import { createInterface } from "node:readline";
import type { ChildProcess } from "node:child_process";
import type { Netns, Side } from "./netns.js";

export type CallOutcome = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string } };

export class NetnsClient {
  readonly prints: string[] = [];
  private nextId = 1;
  private readonly waiting = new Map<number, (r: CallOutcome) => void>();
  private readonly printWaiters: Array<{ text: string; resolve: () => void }> = [];

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on("line", (line) => this.onLine(line));
  }

  static start(net: Netns, side: Side, dir: string): NetnsClient {
    return new NetnsClient(net.spawn(side, [process.execPath, "--enable-source-maps", path.join(__dirname, "netns-client-main.js"), dir], path.join(dir, "workstation.log")));
  }

  /** One operation of the child's typed client (see netns-client-main.ts). */
  call(op: "load" | "create" | "invoke", args: unknown[]): Promise<CallOutcome> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin!.write(JSON.stringify({ id, op, args }) + "\n");
    });
  }

  /** Resolves when a thread prints `text` (or has already). */
  printed(text: string): Promise<void> {
    if (this.prints.includes(text)) return Promise.resolve();
    return new Promise((resolve) => this.printWaiters.push({ text, resolve }));
  }

  close(): void {
    this.child.stdin!.end();
  }

  private onLine(line: string): void {
    const msg = JSON.parse(line) as { id?: number; print?: string } & Partial<CallOutcome>;
    if (msg.print !== undefined) {
      this.prints.push(msg.print);
      for (const w of this.printWaiters.filter((w) => w.text === msg.print)) w.resolve();
      return;
    }
    const resolve = this.waiting.get(msg.id!);
    this.waiting.delete(msg.id!);
    resolve?.(msg as CallOutcome);
  }
}
