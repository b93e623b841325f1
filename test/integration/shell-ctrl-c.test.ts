/**
 * Ctrl-C in the interactive shell (issue 13), driven through a real pseudo-terminal (tmux):
 * during a long call it kills the call's thread — the line fails with ThreadKilledError and
 * the object keeps its state from before — and at the prompt it clears the line; neither
 * leaves the shell (which used to exit, and with `clouds up` stop the whole cluster). `exit`
 * leaves. Tab completes entries of an object's class, and the lines typed are there again
 * (Up) in the next session (a history file of the test's own). Skipped where tmux is not installed.
 */
import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { CLI_SCRIPT } from "../../shell/server-process.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Spinner } from "../fixtures/spinner.js";

const SPINNER = path.join(REPO_ROOT, "test/fixtures/spinner.ts");
const HAS_TMUX = spawnSync("tmux", ["-V"]).status === 0;

describe("Ctrl-C in the interactive shell (integration, a pseudo-terminal)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;
  const session = `clouds-ctrl-c-${process.pid}`;
  let scratch: string;
  const history = () => path.join(scratch, "history");
  const startShell = () => tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "40", `env CLOUDS_HISTORY=${history()} ${process.execPath} ${CLI_SCRIPT} shell --dir ${cluster.dir}`);

  const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
  const screen = () => tmux("capture-pane", "-p", "-t", session, "-S", "-100");
  const alive = () => spawnSync("tmux", ["has-session", "-t", session]).status === 0;

  /** Resolves once the screen shows `text` (the shell printed it). */
  async function shows(text: string | RegExp, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const s = screen();
      if (typeof text === "string" ? s.includes(text) : text.test(s)) return;
      if (Date.now() > deadline) throw new Error(`the shell never showed ${String(text)}; the screen:\n${s}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  before(async function () {
    if (!HAS_TMUX) this.skip();
    cluster = await TestCluster.start({ compute: 1 });
    client = await cluster.connect();
    await client.load(SPINNER);
    await client.create<Spinner>("Spinner", "S1", []);
    scratch = mkdtempSync(path.join(tmpdir(), "clouds-pty-"));
    startShell();
    await shows("clouds>"); // the pane drops trailing spaces
  });

  after(async () => {
    if (HAS_TMUX) spawnSync("tmux", ["kill-session", "-t", session]);
    await cluster?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("should kill the call it waits for on Ctrl-C, and stay", async () => {
    tmux("send-keys", "-t", session, "S1.bump()", "Enter");
    await shows(/^1$/m);
    tmux("send-keys", "-t", session, "S1.spin()", "Enter");
    while ((await client.threads()).frames.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    tmux("send-keys", "-t", session, "C-c");
    await shows(/error: ThreadKilledError: thread t:\S+ was killed/);
    tmux("send-keys", "-t", session, "S1.state()", "Enter");
    await shows("count: 1");
    expect(alive(), "the shell is still there").to.equal(true);
  });

  it("should clear the line on Ctrl-C at the prompt, and stay", async () => {
    tmux("send-keys", "-t", session, "S1.bu");
    await shows("clouds> S1.bu");
    tmux("send-keys", "-t", session, "C-c");
    tmux("send-keys", "-t", session, "S1.bump()", "Enter");
    await shows(/^2$/m); // had the typed text stayed, the line would be S1.buS1.bump(): an error
    expect(screen()).to.not.include("S1.buS1.bump()");
    expect(alive()).to.equal(true);
  });

  it("should complete Name. with the entries of its class on Tab", async () => {
    tmux("send-keys", "-t", session, "S1.sta", "Tab");
    await shows("clouds> S1.state(");
    tmux("send-keys", "-t", session, ")", "Enter");
    await shows(/count: 2/);
  });

  it("should leave on exit", async () => {
    tmux("send-keys", "-t", session, "exit", "Enter");
    const deadline = Date.now() + 10_000;
    while (alive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(alive(), "the shell ended (and its tmux session with it)").to.equal(false);
  });

  it("should have the lines of the last session in its history (Up), kept in the history file", async () => {
    expect(readFileSync(history(), "utf8").split("\n")).to.include.members(["S1.bump()", "S1.state()", "exit"]);
    startShell();
    await shows("clouds>");
    tmux("send-keys", "-t", session, "Up", "Up");
    await shows("clouds> S1.state()");
    tmux("send-keys", "-t", session, "Enter");
    await shows(/count: 2/);
  });
});
