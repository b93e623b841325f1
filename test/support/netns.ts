/**
 * Netns: two network namespaces joined by a veth pair, made and removed by a test, so a
 * partition can be cut and healed for real (`ip link set down`) between server processes.
 *
 *   const net = await Netns.create();        // null when namespaces cannot be made (not root)
 *   net.spawn("a", [process.execPath, ...]);  // a process inside namespace a (10.77.K.1) or b (.2)
 *   await net.cut(); await net.heal();
 *   await net.slow(512, 6000); await net.drops(); await net.fast();   // a slow, lossy link
 *   await net.destroy();                      // kills what it spawned, deletes both namespaces
 *
 * Addresses exist only inside the two namespaces this test creates (DESIGN: tests bind
 * loopback or their own namespaces); K is random so parallel runs do not meet.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { promisify } from "node:util";
import { closeSync, openSync } from "node:fs";

const run = promisify(execFile);

export type Side = "a" | "b";

export class Netns {
  private readonly children: ChildProcess[] = [];

  private constructor(readonly names: Record<Side, string>, readonly links: Record<Side, string>, readonly addresses: Record<Side, string>) {}

  /** Two joined namespaces, or null (with why) when this machine cannot make them. */
  static async create(): Promise<Netns | { unavailable: string }> {
    const tag = randomBytes(3).toString("hex");
    const k = randomInt(1, 254);
    const net = new Netns({ a: `cl-a-${tag}`, b: `cl-b-${tag}` }, { a: `cla${tag}`, b: `clb${tag}` }, { a: `10.77.${k}.1`, b: `10.77.${k}.2` });
    try {
      await net.setUp();
      return net;
    } catch (err) {
      await net.destroy();
      return { unavailable: `network namespaces cannot be created here (${(err as Error).message.split("\n")[0]}): run as root with iproute2` };
    }
  }

  private async setUp(): Promise<void> {
    for (const side of ["a", "b"] as const) await ip(["netns", "add", this.names[side]]);
    await ip(["link", "add", this.links.a, "type", "veth", "peer", "name", this.links.b]);
    for (const side of ["a", "b"] as const) {
      await ip(["link", "set", this.links[side], "netns", this.names[side]]);
      await this.ipIn(side, ["addr", "add", `${this.addresses[side]}/24`, "dev", this.links[side]]);
      await this.ipIn(side, ["link", "set", this.links[side], "up"]);
      await this.ipIn(side, ["link", "set", "lo", "up"]);
    }
  }

  /** Starts a process inside a namespace: stdin and stdout piped, stderr to `log` (or inherited). */
  spawn(side: Side, argv: string[], log?: string): ChildProcess {
    const err = log ? openSync(log, "a") : "inherit";
    const child = spawn("ip", ["netns", "exec", this.names[side], ...argv], { stdio: ["pipe", "pipe", err] });
    if (typeof err === "number") closeSync(err);
    this.children.push(child);
    return child;
  }

  /** Cuts the link (no packet crosses until `heal`). */
  cut(): Promise<void> {
    return this.ipIn("a", ["link", "set", this.links.a, "down"]);
  }

  heal(): Promise<void> {
    return this.ipIn("a", ["link", "set", this.links.a, "up"]);
  }

  /**
   * Makes the link slow and lossy both ways: a token bucket (tbf) of `kbit` per direction with
   * a queue of `queueBytes`; a packet that finds the queue full is dropped (TCP then waits for
   * its retransmission timeout). This kernel has no netem, so there is no fixed propagation
   * delay: the delay is serialization and queueing, the loss is tail drop under bursts.
   */
  async slow(kbit: number, queueBytes: number): Promise<void> {
    for (const side of ["a", "b"] as const) {
      await this.tc(side, ["qdisc", "replace", "dev", this.links[side], "root", "tbf", "rate", `${kbit}kbit`, "burst", "3000", "limit", String(queueBytes)]);
    }
  }

  /** Takes `slow` off. */
  async fast(): Promise<void> {
    for (const side of ["a", "b"] as const) await this.tc(side, ["qdisc", "del", "dev", this.links[side], "root"]).catch(() => undefined);
  }

  /** Packets the link's queues dropped so far (both ways; 0 when not slowed). */
  async drops(): Promise<number> {
    let n = 0;
    for (const side of ["a", "b"] as const) {
      const { stdout } = await run("ip", ["netns", "exec", this.names[side], "tc", "-s", "qdisc", "show", "dev", this.links[side]]);
      for (const m of stdout.matchAll(/dropped (\d+)/g)) n += Number(m[1]);
    }
    return n;
  }

  private tc(side: Side, args: string[]): Promise<void> {
    return run("ip", ["netns", "exec", this.names[side], "tc", ...args], { timeout: 10_000 }).then(() => undefined);
  }

  /** Kills every process it spawned (and their children), then deletes the namespaces. */
  async destroy(): Promise<void> {
    for (const side of ["a", "b"] as const) {
      const pids = await run("ip", ["netns", "pids", this.names[side]]).then((r) => r.stdout.split(/\s+/).filter(Boolean), () => []);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    for (const c of this.children) c.kill("SIGKILL");
    for (const side of ["a", "b"] as const) await ip(["netns", "del", this.names[side]]).catch(() => undefined);
  }

  private ipIn(side: Side, args: string[]): Promise<void> {
    return ip(["netns", "exec", this.names[side], "ip", ...args]);
  }
}

async function ip(args: string[]): Promise<void> {
  await run("ip", args, { timeout: 10_000 });
}
