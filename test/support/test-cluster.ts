/**
 * TestCluster: a real cluster (separate server processes on 127.0.0.1) for integration tests,
 * started and stopped through the `clouds` command exactly as a user would.
 *
 *   const c = await TestCluster.start();          // clouds up --detach --dir <tmp>
 *   const r = await c.exec("RectA.area()");       // clouds exec; {code, stdout, stderr}
 *   await c.stop();                               // clouds down, SIGKILL leftovers, rm tmp
 *
 * `stop` never throws and is safe to call twice: call it in after() so a failing test
 * leaves no process, port or directory behind.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { ClusterInfo } from "../../shell/cluster-file.js";
import { connect, type Cluster } from "../../shell/client/cluster.js";
import { REPO_ROOT } from "./compiled-examples.js";

export const CLOUDS_BIN = path.join(REPO_ROOT, "bin", "clouds");

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

  static async start(options: { compute?: number; data?: number } = {}): Promise<TestCluster> {
    const dir = mkdtempSync(path.join(tmpdir(), "clouds-it-"));
    const args = ["--compute", String(options.compute ?? 2), "--data", String(options.data ?? 1)];
    const c = new TestCluster(dir, args);
    await c.up();
    return c;
  }

  get info(): ClusterInfo {
    return JSON.parse(readFileSync(path.join(this.dir, "cluster.json"), "utf8")) as ClusterInfo;
  }

  get token(): string {
    return readFileSync(path.join(this.dir, "token"), "utf8").trim();
  }

  address(id: string): string {
    const s = this.info.servers.find((x) => x.id === id);
    if (!s) throw new Error(`no server ${id} in the cluster file`);
    return s.address;
  }

  async up(): Promise<void> {
    const r = await clouds(["up", "--detach", "--dir", this.dir, ...this.args]);
    if (existsSync(path.join(this.dir, "cluster.json"))) for (const s of this.info.servers) this.pids.add(s.pid);
    if (r.code !== 0) throw new Error(`clouds up failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  }

  exec(line: string): Promise<ExecResult> {
    return clouds(["exec", "--dir", this.dir, line]);
  }

  shell(input: string): Promise<ExecResult> {
    return clouds(["shell", "--dir", this.dir], input);
  }

  async connect(): Promise<Cluster> {
    const cluster = await connect({ dir: this.dir });
    this.clients.push(cluster);
    return cluster;
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
    for (const pid of this.pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* stopped */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
