/**
 * Killing threads (issue 13) on a real cluster: a thread spinning in `while (true) {}` on cs2
 * is stopped by `Cluster.kill`, its caller gets ThreadKilledError, the object keeps the state
 * it had before the killed invocation, and the server goes on serving (a new isiba worker);
 * a thread three frames deep across two compute servers stops in every frame, none of its
 * writes stays; a frame of a killed thread arriving later is refused; `threads` lists the
 * frames of a running thread on every compute server; the shell's `threads --all` and `kill`;
 * deadlines (`withDeadline`, `deadlineMs`, `set deadline`): past one, the thread is killed
 * everywhere and its caller gets DeadlineExceededError naming the deepest frame; a piped
 * shell's background thread (`&`, `threads`, `kill %1`, its done/failed lines).
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { ThreadRecord } from "../../shell/client/thread-records.js";
import type { Remote } from "../../shell/client/remote.js";
import type { Spinner } from "../fixtures/spinner.js";
import { ShellSession } from "../../shell/shell-session.js";
import { spawn } from "node:child_process";
import { CLI_SCRIPT } from "../../shell/server-process.js";

const SPINNER = path.join(REPO_ROOT, "test/fixtures/spinner.ts");

describe("killing threads (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;
  let made = 0;

  before(async () => {
    cluster = await TestCluster.start({ compute: 2 });
    client = await cluster.connect();
    await client.load(SPINNER);
  });

  after(async () => {
    await cluster?.stop();
  });

  const spinner = (): Promise<Remote<Spinner>> => client.create<Spinner>("Spinner", `spin${++made}`, []);

  /** Starts `call`, waits until `frames` frames of its thread run in the cluster, and returns the thread and its outcome. */
  async function started(call: (onThread: (t: string) => void) => Promise<unknown>, frames: number): Promise<{ thread: string; outcome: Promise<Error | "returned"> }> {
    let thread = "";
    const outcome = call((t) => (thread = t)).then(() => "returned" as const, (err: Error) => err);
    for (;;) {
      if (thread && (await client.threads(thread)).frames.length >= frames) return { thread, outcome };
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("should stop a thread spinning in while (true) {}, give its caller ThreadKilledError, and leave the object as it was", async () => {
    const s = await spinner();
    expect(await s.at("cs2").bump()).to.equal(1);
    const { thread, outcome } = await started((onThread) => client.invoke(s.sysname, "spin", [], { at: "cs2", onThread }), 1);
    const listed = await client.threads();
    expect(listed.frames.filter((f) => f.thread === thread).map((f) => `${f.entry}@${f.server}`)).to.deep.equal(["spin@cs2"]);
    const killedAt = performance.now();
    const report = await client.kill(thread);
    expect(report.frames).to.deep.equal([{ server: "cs2", frames: 1 }]);
    const err = await outcome;
    const ms = performance.now() - killedAt;
    expect((err as Error).name).to.equal("ThreadKilledError");
    expect((err as Error).message).to.include(thread);
    expect(await s.at("cs2").state(), "the killed invocation's writes are discarded").to.deep.equal({ count: 1, notes: ["bump"] });
    expect(await s.at("cs2").bump(), "cs2 serves on").to.equal(2);
    expect((await client.threads(thread)).frames).to.deep.equal([]);
    console.log(`      ThreadKilledError reached the caller ${ms.toFixed(0)} ms after the kill was sent`);
  });

  it("should stop a thread three frames deep across two compute servers in every frame, none of its writes kept", async () => {
    const [a, b, c] = [await spinner(), await spinner(), await spinner()];
    const { thread, outcome } = await started((onThread) => client.invoke(a.sysname, "hop", [b, "cs2", [c], ["cs1"]], { at: "cs1", onThread }), 3);
    const listed = (await client.threads(thread)).frames;
    expect(listed.map((f) => `${f.entry}@${f.server}`).sort()).to.deep.equal(["hop@cs1", "hop@cs2", "spin@cs1"]);
    // What each frame does: the outer two wait for the next one's reply, the last one runs.
    const state = (depth: number) => listed.find((f) => f.depth === depth)?.state;
    expect(state(0)).to.equal(`waiting for a reply from hop of ${b.sysname} at cs2`);
    expect(state(1)).to.equal(`waiting for a reply from spin of ${c.sysname} at cs1`);
    expect(state(2)).to.match(/^running/);
    const report = await client.kill(thread);
    expect(report.frames.reduce((n, f) => n + f.frames, 0)).to.equal(3);
    expect((await outcome as Error).name).to.equal("ThreadKilledError");
    for (const x of [a, b, c]) expect(await x.at("cs2").state()).to.deep.equal({ count: 0, notes: [] });
    expect((await client.threads()).frames.filter((f) => f.thread === thread)).to.deep.equal([]);
  });

  /** This workstation's record of `thread` once `ok` holds of it (it changes as compute servers report). */
  function recordWhen(thread: string, ok: (r: ThreadRecord) => boolean): Promise<ThreadRecord> {
    return new Promise((resolve, reject) => {
      const look = () => {
        const r = client.threadRecords().find((x) => x.thread === thread);
        if (!r || !ok(r)) return;
        client.off("frames", look);
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => (client.off("frames", look), reject(new Error(`no record of ${thread} came to hold: ${JSON.stringify(client.threadRecords())}`))), 10_000);
      client.on("frames", look);
      look();
    });
  }

  it("should keep a thread's record at its workstation from the frames compute servers report: its chain, servers and states", async () => {
    const [a, b, c] = [await spinner(), await spinner(), await spinner()];
    const { thread, outcome } = await started((onThread) => client.invoke(a.sysname, "hop", [b, "cs2", [c], ["cs1"]], { at: "cs1", onThread }), 3);
    const record = await recordWhen(thread, (r) => r.frames.length === 3 && r.frames.every((f) => f.key !== "root"));
    expect(record.call).to.equal(true);
    expect(record.output).to.equal(client.workstation);
    expect(record.frames.map((f) => `${f.entry}@${f.server}:${f.depth}`)).to.deep.equal(["hop@cs1:0", "hop@cs2:1", "spin@cs1:2"]);
    expect(record.frames[0].state).to.equal(`waiting for a reply from hop of ${b.sysname} at cs2`);
    expect(record.state).to.match(/^running/);
    await client.kill(thread);
    expect((await outcome as Error).name).to.equal("ThreadKilledError");
    expect(client.threadRecords().map((r) => r.thread), "over with its call").to.not.include(thread);
  });

  it("should record a spawned thread at the spawning thread's workstation, with its parent, until it ends", async () => {
    const s = await spinner();
    let parent = "";
    const child = (await client.invoke(s.sysname, "spawnSpin", [s, "cs2"], { at: "cs1", onThread: (t) => (parent = t) })) as string;
    const r = { child };
    const record = await recordWhen(r.child, (x) => x.frames.length > 0 && x.parent !== undefined);
    expect(record.call).to.equal(false);
    expect(record.parent).to.equal(parent);
    expect(record.frames.map((f) => `${f.entry}@${f.server}`)).to.deep.equal(["spin@cs2"]);
    await client.kill(r.child);
    await new Promise<void>((resolve) => {
      const gone = () => client.threadRecords().some((x) => x.thread === r.child) || (client.off("frames", gone), resolve());
      client.on("frames", gone);
      gone();
    });
  });

  it("should kill a thread past its deadline, with DeadlineExceededError naming the frame it was in, its writes discarded", async () => {
    const s = await spinner();
    const started = performance.now();
    const err = await s.at("cs2").withDeadline(400).spin().then(() => null, (e: Error) => e);
    const ms = performance.now() - started;
    expect(err?.name).to.equal("DeadlineExceededError");
    expect(err?.message).to.include(`killed in spin of ${s.sysname} on cs2`);
    expect(ms, "not before its deadline").to.be.at.least(400);
    expect(await s.at("cs1").state()).to.deep.equal({ count: 0, notes: [] });
    console.log(`      a 400 ms deadline: DeadlineExceededError after ${ms.toFixed(0)} ms`);
  });

  it("should have nested invocations inherit the deadline, and name the deepest frame", async () => {
    const [a, b, c] = [await spinner(), await spinner(), await spinner()];
    const err = await client.invoke(a.sysname, "hop", [b, "cs2", [c], ["cs1"]], { at: "cs1", deadlineMs: 600 }).then(() => null, (e: Error) => e);
    expect(err?.name).to.equal("DeadlineExceededError");
    expect(err?.message).to.include(`killed in spin of ${c.sysname} on cs1`);
    for (const x of [a, b, c]) expect(await x.at("cs2").state()).to.deep.equal({ count: 0, notes: [] });
  });

  it("should kill a frame past its thread's deadline where it runs, when its first frame's compute server is gone", async () => {
    const own = await TestCluster.start({ compute: 2 });
    try {
      const c2 = await own.connect();
      await c2.load(SPINNER);
      const [a, b] = [await c2.create<Spinner>("Spinner", "da", []), await c2.create<Spinner>("Spinner", "db", [])];
      let thread = "";
      const call = c2.invoke(a.sysname, "hop", [b, "cs2", [], []], { at: "cs1", deadlineMs: 800, onThread: (t) => (thread = t) }).then(() => null, (e: Error) => e);
      while ((await c2.threads(thread)).frames.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      const frames = (await c2.threads(thread)).frames;
      expect(frames.find((f) => f.depth === 1)?.deadline, "the nested frame inherited the deadline").to.be.a("number").and.equal(frames.find((f) => f.depth === 0)?.deadline);
      await own.kill("cs1");
      expect(await call).to.be.an("error");
      const killed = await own.metric("cs2", "thread_deadline_expiries_total");

      while ((await c2.threads(thread)).frames.length > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await own.metric("cs2", "thread_deadline_expiries_total"), "cs2 killed it on its own").to.equal(killed + 1);
      expect(await b.at("cs2").state(), "its writes there discarded").to.deep.equal({ count: 0, notes: [] });
    } finally {
      await own.stop();
    }
  });

  it("should apply a shell's deadline to its invocations (set deadline), and drop it (set deadline off)", async () => {
    const s = await spinner();
    const shell = new ShellSession(client);
    expect((await shell.run("set deadline 300ms")).output).to.deep.equal(["deadline 300 ms: invocations still running then are killed"]);
    const line = await shell.run(`spin${made}.spin()`);
    expect(line.error).to.match(/^DeadlineExceededError: thread .* ran past its deadline and was killed in spin of /);
    expect((await shell.run("set deadline off")).output).to.deep.equal(["no deadline: invocations run until they return"]);
    expect((await shell.run(`spin${made}.bump()`)).output).to.deep.equal(["1"]);
  });

  it("should run a background thread in a piped shell: & prints [1] at once, threads shows it, kill %1 ends it with a failed line", async () => {
    const s = await spinner();
    const child = spawn(process.execPath, [CLI_SCRIPT, "shell", "--dir", cluster.dir], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const shows = async (re: RegExp): Promise<RegExpExecArray> => {
      const deadline = Date.now() + 20_000;
      for (let m = re.exec(out); ; m = re.exec(out)) {
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`the shell never printed ${re}; it printed:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    try {
      child.stdin.write(`spin${made}.spin() &\n`);
      const thread = (await shows(/^\[1\] (t:\S+)$/m))[1];
      while ((await client.threads(thread)).frames.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      child.stdin.write("threads\n");
      await shows(new RegExp(`^\\[1\\]\\s+${thread}\\s+${s.sysname}\\.spin@cs[12]`, "m"));
      child.stdin.write("kill %1\n");
      await shows(new RegExp(`^killed thread ${thread} \\(frames: 1 on cs[12]\\)$`, "m"));
      await shows(/^\[1\] failed: ThreadKilledError: thread t:\S+ was killed/m);
      child.stdin.write(`spin${made}.bump() &\n`);
      await shows(/^\[2\] done: 1$/m);
      child.stdin.end();
      expect(await exited, `the shell's exit code; it printed:\n${out}`).to.equal(0);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("should spawn a thread from object code: a new id from the same workstation, joined for its value, its writes committed", async () => {
    const [a, b] = [await spinner(), await spinner()];
    const r = await a.at("cs1").spawnBump(b, "cs2");
    expect(r.child).to.not.equal(r.parent);
    expect(r.child.split(":").slice(0, 2)).to.deep.equal(r.parent.split(":").slice(0, 2));
    expect(r.value).to.equal(1);
    expect(await b.at("cs1").state()).to.deep.equal({ count: 1, notes: ["bump"] });
  });

  it("should let a spawned thread run on after its parent returned, listed and killed by its own id", async () => {
    const [a, b] = [await spinner(), await spinner()];
    const child = await a.at("cs1").spawnSpin(b, "cs2");
    while ((await client.threads(child)).frames.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await client.threads(child)).frames.map((f) => `${f.entry}@${f.server}`)).to.deep.equal(["spin@cs2"]);
    expect((await client.kill(child)).frames).to.deep.equal([{ server: "cs2", frames: 1 }]);
    while ((await client.threads(child)).frames.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await b.at("cs2").state(), "the killed child's writes are discarded").to.deep.equal({ count: 0, notes: [] });
  });

  it("should send a spawned thread's output to the spawning thread's workstation", async () => {
    const [a, b] = [await spinner(), await spinner()];
    const lines: { thread: string; text: string }[] = [];
    const onPrint = (thread: string, text: string) => lines.push({ thread, text });
    client.on("print", onPrint);
    try {
      const child = await a.at("cs1").spawnShout(b, "hello from the child", "cs2");
      expect(lines).to.deep.include({ thread: child, text: "hello from the child" });
    } finally {
      client.off("print", onPrint);
    }
  });

  it("should trace a thread across two compute servers, with its page faults, in an order consistent with causality", async () => {
    const [a, b] = [await spinner(), await spinner()];
    await b.at("cs1").bump(); // cs1 owns b's page: the thread's write fault at cs2 takes it from there
    let thread = "";
    await client.invoke(a.sysname, "hopBump", [b, "cs2"], { at: "cs1", onThread: (t) => (thread = t) });
    const { events } = await client.trace(thread);
    const find = (server: string, kind: string, entry: string) => {
      const e = events.find((x) => x.server === server && x.kind === kind && x.detail.startsWith(`${entry} of`));
      if (!e) throw new Error(`no ${kind} of ${entry} on ${server} in:\n${events.map((x) => `${x.clock} ${x.server} ${x.kind} ${x.detail}`).join("\n")}`);
      return e;
    };
    const sent = find("cs1", "frame enter", "hopBump"), arrived = find("cs2", "invoke", "bump"), left = find("cs2", "return", "bump"), back = find("cs1", "nested invoke", "bump");
    expect(arrived.clock, "the nested invocation arrives after its caller's frame began").to.be.greaterThan(sent.clock);
    expect(back.clock, "its caller hears back after it returned").to.be.greaterThan(left.clock);
    expect(events.map((e) => e.clock), "merged in clock order").to.deep.equal([...events.map((e) => e.clock)].sort((x, y) => x - y));
    expect(events.some((e) => e.kind === "page fault"), "its page faults are there").to.equal(true);
    // The data server's side, and the copy its write fault at cs2 took from cs1.
    const at = (server: string, kind: string, re: RegExp) => {
      const e = events.find((x) => x.server === server && x.kind.startsWith(kind) && re.test(x.detail));
      if (!e) throw new Error(`no ${kind} ${re} on ${server} in:\n${events.map((x) => `${x.clock} ${x.server} ${x.kind} ${x.detail}`).join("\n")}`);
      return e;
    };
    const taken = at("cs1", "copy taken back", /asked by ds1 for this thread's fault/);
    const recalled = at("ds1", "recall", /from its owner cs1$/);
    const served = at("ds1", "page fault served", /for cs2$/);
    at("ds1", "invalidation", /invalidated cs1's copy/);
    const faulted = events.find((x) => x.server === "cs2" && x.kind === "page fault" && x.detail.startsWith("write") && x.clock > served.clock);
    expect(taken.clock, "cs1 gave the copy back before the home finished the recall").to.be.lessThan(recalled.clock);
    expect(recalled.clock, "the recall was part of serving the fault").to.be.at.most(served.clock);
    expect(faulted, "cs2's fault ended after the home served it").to.not.equal(undefined);
    expect(at("cs2", "commit", /bump of /).ms).to.be.a("number");
    const shell = await new ShellSession(client).run(`trace ${thread}`);
    expect(shell.output[0]).to.match(/^clock\s+server\s+time\s+event\s+detail$/);
    expect(shell.output.some((l) => /\scs2\s.*\sinvoke\s+bump of /.test(l))).to.equal(true);
  });

  it("should answer a kill of a thread that runs nowhere, and list no frame of it", async () => {
    const report = await client.kill("t:nobody:01J0000000000000000000000A");
    expect(report).to.deep.equal({ thread: "t:nobody:01J0000000000000000000000A", frames: [], unreachable: [] });
  });

  it("should list and kill from the shell: threads --all, kill ID, and the line that waited fails with ThreadKilledError", async () => {
    const s = await spinner();
    const other = await cluster.connect();
    const shell = new ShellSession(other);
    const waiting = shell.run(`spin${made}.spin()`);
    let listed: string[] = [];
    for (let tries = 0; tries < 200; tries++) {
      listed = (await new ShellSession(client).run("threads --all")).output;
      if (listed.some((l) => l.includes(`${s.sysname}.spin@`))) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(listed[0]).to.match(/^job\s+thread\s+frame\s+depth\s+for\s+state$/);
    const row = listed.find((l) => l.includes(`${s.sysname}.spin@`))!;
    const thread = row.trim().split(/\s+/)[0];
    // Its own workstation's threads: thread ids name the workstation that started them.
    expect((await new ShellSession(other).run("threads")).output.some((l) => l.trim().startsWith(thread))).to.equal(true);
    // The other workstation (this test's client) keeps no record of it: only --all shows it there.
    expect((await new ShellSession(client).run("threads")).output.some((l) => l.includes(thread))).to.equal(false);
    const killed = await new ShellSession(client).run(`kill ${thread}`);
    expect(killed.output[0]).to.match(new RegExp(`^killed thread ${thread} \\(frames: 1 on cs[12]\\)$`));
    const line = await waiting;
    expect(line.error).to.match(/^ThreadKilledError: thread .* was killed/);
  });
});

describe("killing a thread whose worker runs others (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start({ compute: 3, workers: 1 });
    client = await cluster.connect();
    await client.load(SPINNER);
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should kill a frame waiting in a syscall without its worker: another thread's frame there carries on and commits", async () => {
    const [a, b, c, d] = await Promise.all(["wa", "wb", "wc", "wd"].map((n) => client.create<Spinner>("Spinner", n, [])));
    const terminated = await cluster.metric("cs1", "isiba_workers_terminated_total");
    // X: a's frame on cs1 waits for c spinning on cs2. Y: b's frame on cs1 (the same worker) waits for d on cs3.
    let x = "";
    const xCall = client.invoke(a.sysname, "hop", [c, "cs2", [], []], { at: "cs1", onThread: (t) => (x = t) }).then(() => null, (e: Error) => e);
    while ((await client.threads(x)).frames.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const yCall = b.at("cs1").hopFor(d, "cs3", 1500);
    while (!(await client.threads()).frames.some((f) => f.entry === "spinFor")) await new Promise((resolve) => setTimeout(resolve, 20));
    await client.kill(x);
    expect((await xCall)?.name).to.equal("ThreadKilledError");
    expect(await yCall, "the other thread's frames finished").to.equal(1);
    expect(await b.at("cs2").state(), "and its writes committed").to.deep.equal({ count: 10, notes: ["hopped"] });
    expect(await a.at("cs2").state(), "the killed frame's writes are discarded").to.deep.equal({ count: 0, notes: [] });
    expect(await cluster.metric("cs1", "isiba_workers_terminated_total"), "cs1's worker was not terminated").to.equal(terminated);
    expect(await cluster.metric("cs1", "isiba_cooperative_kills_total")).to.equal(1);
  });

  it("should run again a frame whose worker was terminated to kill a spinning thread before it did anything outside it", async () => {
    const [a, b] = await Promise.all(["ra", "rb"].map((n) => client.create<Spinner>("Spinner", n, [])));
    expect(await b.at("cs2").bump()).to.equal(1);
    const reruns = await cluster.metric("cs2", "isiba_reruns_total");
    // X spins in cs2's only worker; Y's frame is sent to that worker behind it and cannot start.
    let x = "";
    const xCall = client.invoke(a.sysname, "spin", [], { at: "cs2", onThread: (t) => (x = t) }).then(() => null, (e: Error) => e);
    const inWorker = async (t: string) => (await client.threads(t)).frames.some((f) => /^running/.test(f.state ?? ""));
    while (!(await inWorker(x))) await new Promise((resolve) => setTimeout(resolve, 20));
    let y = "";
    const yCall = client.invoke(b.sysname, "bump", [], { at: "cs2", onThread: (t) => (y = t) });
    while (!(await inWorker(y))) await new Promise((resolve) => setTimeout(resolve, 20));
    const report = await client.kill(x);
    expect(report.frames).to.deep.equal([{ server: "cs2", frames: 1 }]);
    expect((await xCall)?.name).to.equal("ThreadKilledError");
    expect(await yCall, "the other thread's frame ran again, once, and returned").to.equal(2);
    expect(await b.at("cs3").state()).to.deep.equal({ count: 2, notes: ["bump", "bump"] });
    expect(await a.at("cs3").state(), "the killed frame's writes are discarded").to.deep.equal({ count: 0, notes: [] });
    expect(await cluster.metric("cs2", "isiba_reruns_total")).to.equal(reruns + 1);
  });
});
