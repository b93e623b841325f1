/**
 * Nested invocations across compute servers (integration, real processes): object code
 * invokes other objects by name, through references passed as arguments and `this.self`,
 * here or at another compute server, on ONE thread (same id, depth + 1 per hop); a thread
 * re-enters objects (and monitors) it is already in; errors come back up the chain with
 * their class, message, server and stack; output printed anywhere in the chain reaches the
 * client and the shell that started the thread. Fixture: test/fixtures/relay.ts.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { Remote } from "../../shell/client/remote.js";
import { sysnameOfRemote } from "../../shell/client/remote.js";
import { CloudsError } from "../../ra-kernel/clouds-error.js";
import { InvocationDepthError, UnknownNameError } from "../../servers/compute/errors.js";
import { expectRejection } from "../support/expect-rejection.js";
import type { Hop, Relay } from "../fixtures/relay.js";

describe("Nested invocations (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;
  let a: Remote<Relay>;
  let b: Remote<Relay>;
  let c: Remote<Relay>;

  before(async () => {
    cluster = await TestCluster.start({ compute: 2 });
    client = await cluster.connect();
    await client.load(path.join(REPO_ROOT, "test/fixtures/relay.ts"));
    [a, b, c] = await Promise.all(["A", "B", "C"].map((n) => client.create<Relay>("Relay", `Relay${n}`, [n])));
  });

  after(async () => {
    await cluster?.stop();
  });

  function sameThread(hops: Hop[]): void {
    expect(new Set(hops.map((h) => h.thread)).size, JSON.stringify(hops)).to.equal(1);
    expect(hops[0].thread).to.match(/^t:/);
  }

  describe("thread identity", () => {
    it("should carry one thread id from A at cs1 to B at cs2, one level deeper", async () => {
      const hops = await a.at("cs1").chain(["RelayB"], ["cs2"]);
      sameThread(hops);
      expect(hops.map((h) => [h.label, h.depth])).to.deep.equal([["A", 0], ["B", 1]]);
    });

    it("should keep it through a 3-hop chain that crosses servers both ways", async () => {
      const hops = await a.at("cs1").chain(["RelayB", "RelayC"], ["cs2", "cs1"]);
      sameThread(hops);
      expect(hops.map((h) => [h.label, h.depth])).to.deep.equal([["A", 0], ["B", 1], ["C", 2]]);
    });

    it("should run a nested invocation without a hint on the caller's compute server", async () => {
      const hops = await a.at("cs2").chain(["RelayB"], []);
      sameThread(hops);
      expect(hops[1].depth).to.equal(1);
    });

    it("should give each invocation from the client a new thread", async () => {
      const [x, y] = [await a.whoami(), await a.whoami()];
      expect(x.thread).not.to.equal(y.thread);
      expect(x.depth).to.equal(0);
    });
  });

  describe("re-entry", () => {
    it("should let A -> B -> A re-enter A on the same thread, across servers", async () => {
      const hops = await a.at("cs1").pingPong("RelayB", "cs2", "cs1");
      sameThread(hops);
      expect(hops.map((h) => [h.label, h.depth])).to.deep.equal([["A", 0], ["B", 1], ["A", 2]]);
    });

    it("should let exclusive entries re-enter the monitor the thread holds, on the same server", async () => {
      const hops = await a.at("cs1").exclusivePing("RelayB", "cs2", "cs1");
      sameThread(hops);
      expect(hops.map((h) => h.label)).to.deep.equal(["A", "B", "A"]);
    });

    it("should let exclusive entries re-enter the monitor through another compute server", async () => {
      // A's monitor is taken from cs1; the re-entry asks for it from cs2 (no hint: local).
      const hops = await a.at("cs1").exclusivePing("RelayB", "cs2");
      sameThread(hops);
      expect(hops.map((h) => [h.label, h.depth])).to.deep.equal([["A", 0], ["B", 1], ["A", 2]]);
    });

    it("should bound the depth with InvocationDepthError", async () => {
      expect(await a.at("cs1").recurse(10)).to.equal(10);
      const err = await expectRejection(a.at("cs1").recurse(200), InvocationDepthError);
      expect(err.message).to.contain("at most 64");
    });
  });

  describe("references", () => {
    it("should pass a client reference as an argument and invoke it from the method", async () => {
      const hop = await a.at("cs1").callRef(b, "cs2");
      expect(hop.label).to.equal("B");
      expect(hop.depth).to.equal(1);
    });

    it("should return references as client Remotes, also inside structures", async () => {
      const out = await a.refs([b, c]);
      expect(sysnameOfRemote(out.me)).to.equal(a.sysname);
      expect(out.others.map((r) => sysnameOfRemote(r))).to.deep.equal([b.sysname, c.sysname]);
      expect((await out.others[1].whoami()).label).to.equal("C");
    });

    it("should refuse bind of an unbound name with UnknownNameError", async () => {
      const err = await expectRejection(a.bindMissing("NoSuchRelay"), UnknownNameError);
      expect(err.message).to.contain("/NoSuchRelay");
    });
  });

  describe("errors", () => {
    it("should bring a method's error to the client with class, message, server and stack", async () => {
      const err = await expectRejection(b.at("cs2").fail("boom"), CloudsError);
      expect(err.name).to.equal("RelayFault");
      expect(err.message).to.equal("B: boom");
      expect(err.server).to.equal("cs2");
      expect(err.remoteStack).to.contain("fail");
    });

    it("should propagate it up a 2-hop chain keeping where it was thrown", async () => {
      const err = await expectRejection(a.at("cs1").failDeep(["RelayB", "RelayC"], ["cs2", "cs1"], "deep"), CloudsError);
      expect(err.name).to.equal("RelayFault");
      expect(err.message).to.equal("C: deep");
      expect(err.server).to.equal("cs1");
      expect(err.remoteStack).to.contain("failDeep");
      const err2 = await expectRejection(a.at("cs1").failDeep(["RelayB"], ["cs2"], "one"), CloudsError);
      expect([err2.name, err2.message, err2.server]).to.deep.equal(["RelayFault", "B: one", "cs2"]);
    });

    it("should show ClassName: message (at csN) in the shell", async () => {
      const r = await cluster.exec(`@cs1 RelayA.failDeep(["RelayB"], ["cs2"], "shell")`);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.contain("RelayFault: B: shell (at cs2)");
    });
  });

  describe("output", () => {
    it("should bring lines printed on another compute server to the client, before the result", async () => {
      const lines: Array<[string, string]> = [];
      let resolved = false;
      const listener = (thread: string, text: string) => lines.push([thread, text + (resolved ? " (late)" : "")]);
      client.on("print", listener);
      try {
        const out = await a.at("cs1").say("hi", ["RelayB", "RelayC"], ["cs2", "cs1"]);
        resolved = true;
        expect(out).to.equal("A done");
      } finally {
        client.off("print", listener);
      }
      expect(lines.map((l) => l[1])).to.deep.equal(["A says hi", "B says hi", "C says hi"]);
      expect(new Set(lines.map((l) => l[0])).size).to.equal(1);
    });

    it("should show them in the shell on their own lines, before the result", async () => {
      const r = await cluster.shell(`@cs1 RelayA.say("there", ["RelayB"], ["cs2"])\n`);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout.trim().split("\n")).to.deep.equal(["A says there", "B says there", "'A done'"]);
    });
  });
});
