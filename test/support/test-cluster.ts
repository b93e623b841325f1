/**
 * TestCluster: a real cluster (separate server processes on 127.0.0.1) for integration tests,
 * started and stopped through the `clouds` command exactly as a user would.
 *
 *   const c = await TestCluster.start();          // clouds up --detach --dir <tmp>
 *   const r = await c.exec("RectA.area()");       // clouds exec; {code, stdout, stderr}
 *   await c.kill("cs2");                          // kill -9 one server, wait until it is gone
 *   await c.repair();                             // clouds up --detach: restarts the dead ones
 *   await c.stop();                               // clouds down, SIGKILL leftovers, rm tmp
 *
 * `stop` never throws and is safe to call twice: call it in after() so a failing test
 * leaves no process, port or directory behind. Leftovers are every pid the cluster file
 * ever recorded and any process still running a server on a directory of the cluster
 * (serverProcessesOf), e.g. one a test started by hand. To read the servers' logs after a
 * run (with DEBUG=... set, servers inherit it), set KEEP_CLUSTER=1: `stop` keeps the
 * directory and prints where it is (the processes are stopped all the same).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ClusterInfo, ClusterServer } from "../../shell/cluster-file.js";
import { isAlive } from "../../shell/cluster-launcher.js";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import { REPO_ROOT } from "./compiled-examples.js";
import { serverProcessesOf } from "./server-processes.js";

export const CLOUDS_BIN = path.join(REPO_ROOT, "bin", "clouds");

const KILL_WAIT_MS = 10_000;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function clouds(args: string[], input?: string): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLOUDS_BIN, ...args], { cwd: REPO_ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
    });
    if (input !== undefined) child.stdin!.end(input);
  });
}

export class TestCluster {
  private pids = new Set<number>();
  private clients: Cluster[] = [];

  private constructor(readonly dir: string, readonly args: string[]) {}

  /**
   * `workers`: isiba workers per compute server, `workerHeapMb` the heap of each, `cacheMb` its
   * page cache bound, `maxActive` its active objects (default: the server's own).
   */
  static async start(options: { compute?: number; data?: number; workers?: number; workerHeapMb?: number; cacheMb?: number; maxActive?: number } = {}): Promise<TestCluster> {
    const dir = mkdtempSync(path.join(tmpdir(), "clouds-it-"));
    const args = ["--compute", String(options.compute ?? 2), "--data", String(options.data ?? 1)];
    if (options.workers !== undefined) args.push("--workers", String(options.workers));
    if (options.workerHeapMb !== undefined) args.push("--max-invocation-memory", String(options.workerHeapMb));
    if (options.cacheMb !== undefined) args.push("--cache-mb", String(options.cacheMb));
    if (options.maxActive !== undefined) args.push("--max-active", String(options.maxActive));
    const c = new TestCluster(dir, args);
    try {
      await c.up();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  get info(): ClusterInfo {
    return JSON.parse(readFileSync(path.join(this.dir, "cluster.json"), "utf8")) as ClusterInfo;
  }

  get token(): string {
    return readFileSync(path.join(this.dir, "token"), "utf8").trim();
  }

  /** One figure of a server's /metrics (`name` without the clouds_ prefix, unlabelled). */
  async metric(id: string, name: string): Promise<number> {
    const text = await (await fetch(`http://${this.address(id)}/metrics`, { headers: { authorization: `Bearer ${this.token}` } })).text();
    const m = new RegExp(`^clouds_${name}\\{server="${id}",role="[a-z]+"\\} (\\d+)$`, "m").exec(text);
    if (!m) throw new Error(`no metric ${name} on ${id}`);
    return Number(m[1]);
  }

  address(id: string): string {
    return this.server(id).address;
  }

  /** A server's entry in the cluster file. */
  server(id: string): ClusterServer {
    const s = this.info.servers.find((x) => x.id === id);
    if (!s) throw new Error(`no server ${id} in the cluster file`);
    return s;
  }

  /** The last `lines` lines of a server's log (for failure messages). */
  logs(id: string, lines = 40): string {
    try {
      return readFileSync(this.server(id).log, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } catch (err) {
      return `(no log for ${id}: ${(err as Error).message})`;
    }
  }

  async up(): Promise<void> {
    await this.runUp();
  }

  /** `clouds up --detach`; remembers every recorded pid (for `stop`), throws if it failed. */
  private async runUp(): Promise<ExecResult> {
    const r = await clouds(["up", "--detach", "--dir", this.dir, ...this.args]);
    if (existsSync(path.join(this.dir, "cluster.json"))) for (const s of this.info.servers) this.pids.add(s.pid);
    if (r.code !== 0) throw new Error(`clouds up failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r;
  }

  /** `clouds exec` of one line; `flags` before it (e.g. --json). */
  exec(line: string, flags: string[] = []): Promise<ExecResult> {
    return clouds(["exec", "--dir", this.dir, ...flags, line]);
  }

  shell(input: string): Promise<ExecResult> {
    return clouds(["shell", "--dir", this.dir], input);
  }

  async connect(): Promise<Cluster> {
    const cluster = await connect({ dir: this.dir });
    this.clients.push(cluster);
    return cluster;
  }

  /** kill -9 one server; resolves once its process is gone. */
  async kill(id: string): Promise<void> {
    const { pid } = this.server(id);
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* already gone */
    }
    const deadline = Date.now() + KILL_WAIT_MS;
    while (isAlive(pid)) {
      if (Date.now() > deadline) throw new Error(`${id} (pid ${pid}) still runs ${KILL_WAIT_MS} ms after SIGKILL`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * `clouds up --detach` on the cluster's directory: starts again in place each server whose
   * process is gone, the name server included (same id and state, its old port if free).
   * Returns what the command printed.
   */
  repair(): Promise<ExecResult> {
    return this.runUp();
  }

  /** kill -9 every server process of the cluster. */
  killAll(): void {
    for (const s of this.info.servers) {
      try {
        process.kill(s.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.clients.map((c) => c.close()));
    this.clients = [];
    await clouds(["down", "--dir", this.dir]);
    for (const p of serverProcessesOf(this.dir)) this.pids.add(p.pid);
    for (const pid of this.pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* stopped */
      }
    }
    if (process.env.KEEP_CLUSTER) console.log(`      kept ${this.dir} (KEEP_CLUSTER)`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
