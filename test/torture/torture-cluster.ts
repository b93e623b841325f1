/**
 * TortureCluster: a TestCluster (real processes, `clouds up --detach` in a temporary
 * directory) whose servers of every role can be killed with -9 and brought back.
 *
 *   const c = await TortureCluster.start({ compute: 3, data: 2 });
 *   await c.kill("ds2");          // kill -9, resolves once the process is gone
 *   await c.restore();            // every dead server running again (see below)
 *   await c.restartAll();         // kill -9 everything, then `clouds up` on the same state
 *   await c.stop();               // never throws; also after a failure
 *
 * Restoring: `clouds up` repairs data and compute servers (same id and state, new port) but
 * not the name server — with it dead, `up` would start a second cluster over the same state
 * directories. So a dead name server is started here first, by the same command line the
 * launcher uses, on its old port (the other servers and clients know it by address and
 * reconnect to it), and cluster.json gets its new pid; then `clouds up` repairs the rest.
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import * as path from "node:path";
import { TestCluster, type ExecResult } from "../support/test-cluster.js";
import { CLI_SCRIPT, isAlive } from "../../shell/cluster-launcher.js";
import { writeCluster, type ClusterServer } from "../../shell/cluster-file.js";
import type { Cluster } from "../../shell/client/cluster.js";
import { connect } from "../../shell/client/cluster.js";

/** Tries of one restore before giving up (a restarted server may fail to start at once). */
const RESTORE_TRIES = 6;
const RESTORE_BACKOFF_MS = 1000;
/** Tries to bind the name server's old port again. */
const PORT_TRIES = 20;
const READY_TIMEOUT_MS = 30_000;

export class TortureCluster {
  /** Name servers started here (beyond `clouds up`'s): killed by `stop` whatever happens. */
  private readonly ownPids = new Set<number>();
  private readonly clients: Cluster[] = [];
  /** Clusters started and not yet stopped (for `stopAll` on Ctrl-C). */
  private static readonly running = new Set<TortureCluster>();

  private constructor(private readonly test: TestCluster) {}

  static async start(options: { compute: number; data: number; maxActive?: number; cacheMb?: number }): Promise<TortureCluster> {
    const cluster = new TortureCluster(await TestCluster.start(options));
    TortureCluster.running.add(cluster);
    return cluster;
  }

  /** Stops every cluster still running (an interrupted run). */
  static async stopAll(): Promise<void> {
    await Promise.allSettled([...TortureCluster.running].map((c) => c.stop()));
  }

  get dir(): string {
    return this.test.dir;
  }

  servers(): ClusterServer[] {
    return this.test.info.servers;
  }

  /** The last lines of a server's log. */
  logs(id: string, lines = 30): string {
    return this.test.logs(id, lines);
  }

  /** A client connection (closed by `stop`); `timeoutMs` per invocation. */
  async connect(timeoutMs: number): Promise<Cluster> {
    const cluster = await connect({ dir: this.dir, timeoutMs });
    this.clients.push(cluster);
    return cluster;
  }

  /** kill -9 one server; resolves once its process is gone. */
  kill(id: string): Promise<void> {
    return this.test.kill(id);
  }

  /** Servers whose process is gone. */
  dead(): ClusterServer[] {
    return this.servers().filter((s) => !isAlive(s.pid));
  }

  /**
   * Starts every dead server again (the name server first, then `clouds up`), retrying a
   * few times. Returns the number of tries it took; throws if the cluster stays broken.
   */
  async restore(): Promise<number> {
    let last: unknown = null;
    for (let attempt = 1; attempt <= RESTORE_TRIES; attempt++) {
      try {
        await this.restoreOnce();
        if (this.dead().length === 0) return attempt;
        last = new Error(`still dead after clouds up: ${this.dead().map((s) => s.id).join(", ")}`);
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, RESTORE_BACKOFF_MS));
    }
    throw new Error(`cannot restore the cluster after ${RESTORE_TRIES} tries: ${(last as Error).message}`);
  }

  private async restoreOnce(): Promise<void> {
    const ns = this.servers().find((s) => s.role === "name");
    if (ns && !isAlive(ns.pid)) await this.restartNameServer(ns);
    if (this.dead().length > 0) await this.test.repair();
  }

  /** Starts the name server again on its old address; records its pid in cluster.json. */
  private async restartNameServer(ns: ClusterServer): Promise<void> {
    const port = ns.address.slice(ns.address.lastIndexOf(":") + 1);
    const args = ["name-server", "--id", ns.id, "--dir", ns.dir, "--port", port, "--token-file", path.join(this.dir, "token")];
    let pid = 0;
    for (let attempt = 1; pid === 0; attempt++) {
      try {
        pid = await spawnRole(args, ns.log);
      } catch (err) {
        if (attempt >= PORT_TRIES || !/EADDRINUSE/.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    this.ownPids.add(pid);
    const info = this.test.info;
    writeCluster(this.dir, { ...info, servers: info.servers.map((s) => (s.id === ns.id ? { ...s, pid } : s)) });
  }

  /** kill -9 every server, then `clouds up` on the same directory (a whole cluster, from disk). */
  async restartAll(): Promise<ExecResult | void> {
    await Promise.allSettled(this.clients.splice(0).map((c) => c.close()));
    await Promise.all(this.servers().map((s) => this.kill(s.id)));
    await this.test.up();
  }

  async stop(): Promise<void> {
    TortureCluster.running.delete(this);
    await Promise.allSettled(this.clients.splice(0).map((c) => c.close()));
    await this.test.stop();
    for (const pid of this.ownPids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  }
}

/** Runs `clouds <args>` detached as `clouds up` runs a server; resolves with its pid once it serves. */
function spawnRole(args: string[], log: string): Promise<number> {
  const fd = openSync(log, "a");
  const child = spawn(process.execPath, ["--enable-source-maps", CLI_SCRIPT, ...args], { detached: true, stdio: ["ignore", fd, fd, "ipc"] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${args[0]} ${args[2]} did not start: ${why}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    child.once("exit", (code) => fail(`exited with code ${code}`));
    child.once("message", (msg: { ready: boolean; error?: string }) => {
      if (!msg.ready) return fail(msg.error ?? "unknown error");
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.unref();
      resolve(child.pid!);
    });
  });
}
