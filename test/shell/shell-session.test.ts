/**
 * Tests of ShellSession (shell/shell-session.ts) over a FakeCluster: what each line prints,
 * paths resolved against the current directory, errors returned as one line (never thrown),
 * and the commands this version refuses. Also describeError's one-line format.
 */
import { expect } from "chai";
import { fromWire } from "../../objects/wire-value.js";
import { inspect } from "node:util";
import { CloudsError, fromWireError } from "../../ra-kernel/clouds-error.js";
import { UnknownEntryError } from "../../ra-kernel/errors.js";
import { newSysName, type ServerId, type SysName } from "../../ra-kernel/ids.js";
import type { ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import { describeError, ShellSession } from "../../shell/shell-session.js";
import { HELP, helpText } from "../../shell/help.js";
import { FakeCluster } from "../support/fake-cluster.js";
import { sysnameOfRemote } from "../../shell/client/remote.js";

const ds1 = "ds1" as ServerId;

function descriptor(className = "Rectangle"): ObjectDescriptor {
  return {
    sysname: newSysName(ds1), className, classVersion: 1, home: ds1,
    segments: { data: newSysName(ds1), heap: newSysName(ds1), volatile: newSysName(ds1) },
    createdAt: Date.UTC(2024, 4, 1),
  };
}

describe("ShellSession", () => {
  let cluster: FakeCluster;
  let session: ShellSession;
  let rectA: SysName;

  beforeEach(() => {
    cluster = new FakeCluster();
    session = new ShellSession(cluster.asCluster());
    rectA = newSysName(ds1);
    cluster.bind("/RectA", "object", rectA, { className: "Rectangle" });
  });

  /** Runs a line that must succeed; returns its output. */
  async function ok(line: string): Promise<string[]> {
    const r = await session.run(line);
    expect(r.error, `${line}: ${r.error}`).to.equal(undefined);
    return r.output;
  }

  /** Runs a line that must fail; returns its one-line error. */
  async function fails(line: string): Promise<string> {
    const r = await session.run(line);
    expect(r.error, `${line} should fail`).to.be.a("string");
    expect(r.output).to.deep.equal([]);
    expect(r.error).not.to.contain("\n");
    return r.error!;
  }

  describe("load", () => {
    it("should say which classes were registered, unchanged or upgraded", async () => {
      cluster.loadResults = [
        { name: "Rectangle", version: 1, entries: 2, created: true },
        { name: "Circle", version: 3, entries: 1, created: false },
        { name: "Square", version: 2, entries: 0, created: true },
      ];
      expect(await ok("load objects/examples/rectangle.ts")).to.deep.equal([
        "class Rectangle registered (2 entry points)",
        "class Circle unchanged (version 3, 1 entry point)",
        "class Square upgraded to version 2 (0 entry points)",
      ]);
      expect(cluster.callsOf("load")).to.deep.equal([["objects/examples/rectangle.ts", false]]);
    });

    it("should pass a quoted file name as written", async () => {
      await ok('load "my classes/shapes.ts"');
      expect(cluster.callsOf("load")).to.deep.equal([["my classes/shapes.ts", false]]);
    });

    it("should ask for a type check with --check, before or after the file", async () => {
      await ok("load --check a.ts");
      await ok("load b.ts --check");
      expect(cluster.callsOf("load")).to.deep.equal([["a.ts", true], ["b.ts", true]]);
    });
  });

  describe("new", () => {
    it("should print the path, the sysname and the class", async () => {
      cluster.nextDescriptor = descriptor();
      const out = await ok("new Rectangle RectB");
      expect(out).to.deep.equal([`/RectB -> ${cluster.nextDescriptor.sysname}  (Rectangle)`]);
      expect(cluster.callsOf("createObject")).to.deep.equal([["Rectangle", "/RectB", []]]);
    });

    it("should pass the constructor's arguments as values", async () => {
      cluster.nextDescriptor = descriptor();
      await ok(`new Rectangle RectB(5, "x", [1, {w: 2}], null)`);
      expect(cluster.callsOf("createObject")[0][2]).to.deep.equal([5, "x", [1, { w: 2 }], null]);
    });

    it("should create under the current directory", async () => {
      cluster.bind("/users/ana", "directory");
      cluster.nextDescriptor = descriptor();
      await ok("cd /users/ana");
      expect(await ok("new Rectangle RectB")).to.deep.equal([`/users/ana/RectB -> ${cluster.nextDescriptor.sysname}  (Rectangle)`]);
    });
  });

  describe("invocations", () => {
    it("should print nothing for an entry that returns undefined", async () => {
      expect(await ok("RectA.size(5, 10)")).to.deep.equal([]);
      expect(cluster.callsOf("invoke")).to.deep.equal([[rectA, "size", [5, 10], { at: undefined }]]);
    });

    it("should print values as util.inspect does", async () => {
      const values: unknown[] = [50, "hi", null, false, 10n, [1, "a"], { w: 3, h: { d: 4 } }, new Date(Date.UTC(2024, 0, 1))];
      for (const v of values) {
        cluster.onInvoke = () => v;
        expect(await ok("RectA.area()"), String(v)).to.deep.equal([inspect(v, { depth: 6, colors: false, breakLength: 100 })]);
      }
      cluster.onInvoke = () => 50;
      expect(await ok("RectA.area()")).to.deep.equal(["50"]);
      cluster.onInvoke = () => "hi";
      expect(await ok("RectA.area()")).to.deep.equal(["'hi'"]);
    });

    it("should pass a location hint", async () => {
      cluster.onInvoke = () => 50;
      expect(await ok("@cs2 RectA.area()")).to.deep.equal(["50"]);
      expect(cluster.callsOf("invoke")[0][3]).to.deep.equal({ at: "cs2" });
    });

    it("should pass arrays, objects and dates as values", async () => {
      await ok(`RectA.f([1, [2, "x"]], {w: 3, "h": 4}, new Date(0), 10n, undefined)`);
      expect(cluster.callsOf("invoke")[0][2]).to.deep.equal([[1, [2, "x"]], { w: 3, h: 4 }, new Date(0), 10n, undefined]);
    });
  });

  describe("the current directory", () => {
    beforeEach(() => {
      cluster.bind("/users", "directory");
      cluster.bind("/users/ana", "directory");
      cluster.bind("/users/ana/RectB", "object", newSysName(ds1), { className: "Rectangle" });
      cluster.bind("/users/RectC", "object", newSysName(ds1), { className: "Rectangle" });
    });

    it("should start at the root", async () => {
      expect(await ok("pwd")).to.deep.equal(["/"]);
    });

    it("should change with cd, relative or absolute, and never go above the root", async () => {
      await ok("cd users");
      expect(await ok("pwd")).to.deep.equal(["/users"]);
      await ok("cd ana");
      expect(await ok("pwd")).to.deep.equal(["/users/ana"]);
      await ok("cd ..");
      expect(await ok("pwd")).to.deep.equal(["/users"]);
      await ok("cd /users/ana");
      expect(await ok("pwd")).to.deep.equal(["/users/ana"]);
      await ok("cd /");
      expect(await ok("pwd")).to.deep.equal(["/"]);
      await ok("cd ../..");
      expect(await ok("pwd")).to.deep.equal(["/"]);
    });

    it("should resolve invocation targets against it", async () => {
      await ok("cd /users/ana");
      await ok("RectB.area()");
      await ok("../RectC.area()");
      await ok("/RectA.area()");
      await ok("./RectB.area()");
      expect(cluster.callsOf("resolve").map((c) => c[0])).to.deep.equal(["/users/ana/RectB", "/users/RectC", "/RectA", "/users/ana/RectB"]);
    });

    it("should refuse to enter a missing name or an object, and stay where it was", async () => {
      await ok("cd users");
      expect(await fails("cd nowhere")).to.equal("NameUnboundError: no such directory: /users/nowhere");
      expect(await fails("cd RectC")).to.match(/^NameUnboundError: \/users\/RectC is an? object, not a directory$/);
      expect(await ok("pwd")).to.deep.equal(["/users"]);
    });

    it("should resolve ls, mv, rm and info against it", async () => {
      await ok("cd /users");
      await ok("ls");
      await ok("ls ana");
      expect(cluster.callsOf("names.list")).to.deep.equal([["/users"], ["/users/ana"]]);
      expect(await ok("mv RectC ana/RectD")).to.deep.equal(["/users/RectC -> /users/ana/RectD"]);
      expect(await ok("info ana")).to.deep.equal(["/users/ana: directory"]);
      expect(await ok("rm ana/RectD")).to.have.length(1);
      expect(cluster.bindings.has("/users/ana/RectD")).to.equal(false);
    });
  });

  describe("name space commands", () => {
    it("should list a directory with kinds, classes and sysnames", async () => {
      cluster.bind("/sys", "directory");
      cluster.bind("/Rectangle", "class", newSysName(ds1), { version: 2 });
      const out = await ok("ls");
      expect(out).to.deep.equal([
        `${"RectA".padEnd(24)} Rectangle  ${rectA}`,
        `${"Rectangle".padEnd(24)} class v2`,
        `${"sys/".padEnd(24)} directory`,
      ]);
      cluster.bindings.clear();
      expect(await ok("ls")).to.deep.equal([]);
    });

    it("should remove an object's name and delete the object", async () => {
      cluster.descriptors.set(rectA, descriptor());
      expect(await ok("rm RectA")).to.deep.equal([`removed /RectA (object ${rectA} deleted)`]);
      expect(cluster.callsOf("deleteObject")).to.deep.equal([[rectA]]);
      expect(cluster.callsOf("names.unbind")).to.deep.equal([["/RectA"]]);
    });

    it("should remove a directory's name without deleting anything", async () => {
      cluster.bind("/empty", "directory");
      expect(await ok("rm empty")).to.deep.equal(["removed /empty"]);
      expect(cluster.callsOf("deleteObject")).to.deep.equal([]);
    });

    it("should refuse to remove a name under /sys before deleting anything, and remove it with --force", async () => {
      cluster.bind("/sys/classes/Rectangle", "class", rectA);
      cluster.descriptors.set(rectA, descriptor());
      expect(await fails("rm /sys/classes/Rectangle")).to.match(/^ProtectedNameError: \/sys\/classes\/Rectangle is kept by the cluster .*rm --force/);
      expect(cluster.callsOf("deleteObject")).to.deep.equal([]);
      expect(cluster.callsOf("names.unbind")).to.deep.equal([]);
      expect(await ok("rm --force /sys/classes/Rectangle")).to.deep.equal(["removed /sys/classes/Rectangle"]);
      expect(cluster.callsOf("names.unbind")).to.deep.equal([["/sys/classes/Rectangle"]]);
    });

    it("should refuse to remove a missing name", async () => {
      expect(await fails("rm Nope")).to.equal("NameUnboundError: no such name: /Nope");
      expect(cluster.callsOf("names.unbind")).to.deep.equal([]);
    });

    it("should describe an object from its descriptor, with its segments' sizes at the home", async () => {
      const d = { ...descriptor(), sysname: rectA };
      cluster.descriptors.set(rectA, d);
      cluster.sizes = [
        { segment: d.segments.data, maxPages: 16, pages: 1, bytes: 4096 },
        { segment: d.segments.heap, maxPages: 262_144, pages: 12_800, bytes: 52_428_800 },
        { segment: d.segments.volatile, maxPages: 0, pages: -1, bytes: 0 },
      ];
      expect(await ok("info RectA")).to.deep.equal([
        `/RectA -> ${rectA}`,
        "  class     Rectangle (version 1)",
        "  home      ds1",
        `  data      ${d.segments.data}  (1 of 16 pages stored, 4 KiB on disk)`,
        `  heap      ${d.segments.heap}  (12800 of 262144 pages stored, 50.0 MiB on disk)`,
        `  volatile  ${d.segments.volatile}  (kept on compute servers only, never stored)`,
        "  created   2024-05-01T00:00:00.000Z",
      ]);
    });

    it("should say which atomic thread holds an object, and its frames' compute servers", async () => {
      cluster.descriptors.set(rectA, { ...descriptor(), sysname: rectA });
      cluster.lockLists.set(rectA, [{
        object: rectA, key: "monitor", kind: "monitor", available: 0, waiting: [],
        holders: [{ server: "cs1", thread: "t:ws1:7#2", count: 1, atomic: true }, { server: "cs2", thread: "t:ws1:7#2", count: 1, atomic: true }],
      }]);
      expect((await ok("info RectA")).slice(-1)).to.deep.equal(["  atomic    held by atomic thread t:ws1:7#2 (frames on cs1, cs2)"]);
    });

    it("should say when an object's home no longer has it", async () => {
      expect(await ok("info RectA")).to.deep.equal([`/RectA -> ${rectA}: the object no longer exists at its home`]);
    });

    it("should show a non-object binding's meta", async () => {
      cluster.bind("/sys/classes/Rectangle", "class", newSysName(ds1), { version: 2, home: "ds1" });
      expect(await ok("info /sys/classes/Rectangle")).to.deep.equal(["/sys/classes/Rectangle: class", "  version: 2", '  home: "ds1"']);
    });

    it("should list every server with health, and load for compute servers", async () => {
      cluster.surveyResult = {
        fresh: true,
        asOf: 0,
        rows: [
          { id: "cs1", role: "compute", address: "127.0.0.1:7002", pid: 13, health: "up", why: "", load: { running: 2, lagMs: 1.25 } },
          { id: "cs2", role: "compute", address: "127.0.0.1:7003", pid: 14, health: "down", why: "its connection to the name server closed" },
          { id: "ns1", role: "name", address: "127.0.0.1:7000", pid: 11, health: "up", why: "" },
        ],
      };
      expect(await ok("servers")).to.deep.equal([
        "id    role     address                pid        health load",
        "cs1   compute  127.0.0.1:7002         pid 13     up     running=2 lagMs=1.3",
        "cs2   compute  127.0.0.1:7003         pid 14     down   (its connection to the name server closed)",
        "ns1   name     127.0.0.1:7000         pid 11     up",
      ]);
    });

    it("should say when the servers shown are the last known ones", async () => {
      cluster.surveyResult = { fresh: false, asOf: Date.UTC(2026, 0, 2, 3, 4, 5), rows: [] };
      expect((await ok("servers"))[0]).to.equal("(name server unreachable: servers as registered at 2026-01-02T03:04:05.000Z)");
    });

    it("should show each registered server's state in ls /sys/servers", async () => {
      cluster.bind("/sys/servers/cs1", "server", null, { id: "cs1", role: "compute", address: "127.0.0.1:7002", state: "down" });
      expect(await ok("ls /sys/servers")).to.deep.equal(["cs1                      server  compute  127.0.0.1:7002  down"]);
    });
  });

  describe("errors", () => {
    it("should return a failed invocation's error as one line naming class and server", async () => {
      cluster.onInvoke = () => {
        const err = new UnknownEntryError("Rectangle has no entry 'perimeter' (entries: size, area)", { className: "Rectangle", entry: "perimeter" });
        err.server = "cs1";
        throw err;
      };
      expect(await fails("RectA.perimeter()")).to.equal("UnknownEntryError: Rectangle has no entry 'perimeter' (entries: size, area) (at cs1)");
    });

    it("should leave out generic class names", async () => {
      cluster.onInvoke = () => {
        throw Object.assign(new CloudsError("disk full"), { server: "ds1" });
      };
      expect(await fails("RectA.area()")).to.equal("disk full (at ds1)");
      cluster.onInvoke = () => {
        throw new Error("socket hang up");
      };
      expect(await fails("RectA.area()")).to.equal("socket hang up");
    });

    it("should report an unbound target", async () => {
      expect(await fails("Nope.area()")).to.equal("NameUnboundError: no object named /Nope");
      expect(cluster.callsOf("invoke")).to.deep.equal([]);
    });

    it("should report a line it cannot parse, and go on", async () => {
      expect(await fails("RectA.area(")).to.match(/^LineSyntaxError: .*column/);
      expect(await ok("pwd")).to.deep.equal(["/"]);
    });

    it("should not throw whatever the cluster throws", async () => {
      cluster.onInvoke = () => {
        throw "a string";
      };
      expect(await fails("RectA.area()")).to.equal("a string");
    });
  });

  describe("result formats", () => {
    const big = { list: Array.from({ length: 300 }, (_, i) => i), text: "x".repeat(20_000), deep: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } };

    it("should abbreviate a big result in the shell and say how to see all of it", async () => {
      cluster.onInvoke = () => big;
      const out = (await ok("RectA.f()")).join("\n");
      expect(out).to.match(/more items/).and.match(/more characters/);
      expect(out).to.match(/\(abbreviated: clouds exec --json 'LINE' prints all of it\)$/);
      cluster.onInvoke = () => 50;
      expect(await ok("RectA.area()")).to.deep.equal(["50"]);
    });

    it("should print the whole value for exec (full)", async () => {
      const s = new ShellSession(cluster.asCluster(), { results: "full" });
      cluster.onInvoke = () => big;
      const out = (await s.run("RectA.f()")).output.join("\n");
      expect(out).to.not.match(/more items|more characters|\[Object\]|abbreviated/);
      expect(out).to.contain("299").and.contain("x".repeat(20_000)).and.contain("g: 1");
    });

    it("should print JSON with every value kind in its documented tagged form, round-tripping through fromWire", async () => {
      const s = new ShellSession(cluster.asCluster(), { results: "json" });
      const other = newSysName(ds1);
      const value = {
        n: 1.5, s: "é", b: true, nil: null, u: undefined, big: 12n ** 30n, d: new Date(1_700_000_000_000), m: new Map<unknown, unknown>([["k", [1, 2n]]]),
        set: new Set(["a", 3]), nan: NaN, inf: -Infinity, negz: -0, arr: [undefined, 1], tagged: { $date: "a plain object that looks tagged" }, ref: cluster.ref(other),
      };
      cluster.onInvoke = () => value;
      const [line] = (await s.run("RectA.f()")).output;
      const parsed = JSON.parse(line) as Record<string, unknown>;
      expect(parsed.big).to.deep.equal({ $bigint: (12n ** 30n).toString() });
      expect(parsed.d).to.deep.equal({ $date: 1_700_000_000_000 });
      expect(parsed.u).to.deep.equal({ $undef: 1 });
      expect(parsed.ref).to.deep.equal({ $ref: other });
      const { ref: _ref, ...rest } = value;
      const { ref: _wireRef, ...wireRest } = parsed;
      expect(fromWire(wireRest)).to.deep.equal(rest);
      cluster.onInvoke = () => undefined;
      expect((await s.run("RectA.f()")).output, "no result is still JSON").to.deep.equal([JSON.stringify({ $undef: 1 })]);
    });
  });

  describe("object references", () => {
    it("should pass names of objects as references, also inside arrays and objects", async () => {
      const other = newSysName(ds1);
      cluster.bind("/Other", "object", other, { className: "Rectangle" });
      await ok("RectA.f(Other, [1, Other], {o: /Other})");
      const [, , args] = cluster.callsOf("invoke")[0] as [SysName, string, unknown[]];
      const [a, [, b], { o }] = args as [unknown, [number, unknown], { o: unknown }];
      for (const ref of [a, b, o]) expect(sysnameOfRemote(ref)).to.equal(other);
    });

    it("should print a reference result as its sysname", async () => {
      const other = newSysName(ds1);
      cluster.onInvoke = () => cluster.ref(other);
      expect(await ok("RectA.f()")).to.deep.equal([`-> ${other}`]);
    });
  });

  describe("threads and kill", () => {
    it("should list this shell's threads from the workstation's records, one row per thread at its deepest frame", async () => {
      const now = Date.now();
      const frame = (depth: number, server: string, entry: string, state: string) => ({ key: `${server}/${depth}`, server, depth, object: rectA, entry, since: now - 2500 + depth, state });
      cluster.records = [
        { thread: "t:ws-test:1", call: true, since: now - 2500, output: "ws-test", frames: [frame(0, "cs1", "run", "waiting for a reply from cs2"), frame(1, "cs2", "spin", "running")], state: "running" },
        { thread: "t:ws-test:2", parent: "t:ws-test:1", call: false, since: now - 100, output: "ws-test", frames: [frame(0, "cs1", "step", "waiting for lock 'k'")], state: "waiting for lock 'k'" },
      ];
      const mine = await ok("threads");
      expect(mine).to.have.length(3);
      expect(mine[0]).to.match(/^job\s+thread\s+frame\s+depth\s+for\s+state$/);
      expect(mine[1]).to.match(new RegExp(`^\\s+t:ws-test:1\\s+${rectA}\\.spin@cs2\\s+1\\s+2\\.\\d s\\s+running$`));
      expect(mine[2]).to.match(/step@cs1\s+0\s+.*waiting for lock 'k' \(spawned by t:ws-test:1\)$/);
      expect(cluster.callsOf("threads"), "no compute server asked").to.deep.equal([]);
      cluster.records = [];
      expect(await ok("threads")).to.deep.equal(["no thread of this shell runs"]);
    });

    it("should list every thread in the cluster with --all, asking the compute servers, one row per thread", async () => {
      const now = Date.now();
      cluster.threadFrames = [
        { id: 1, thread: "t:ws-test:1", depth: 0, object: rectA, entry: "spin", since: now - 2500, server: "cs2", state: "running" },
        { id: 2, thread: "t:other:2", depth: 0, object: rectA, entry: "run", since: now - 300, server: "cs1", state: "waiting for a reply from cs2" },
        { id: 3, thread: "t:other:2", depth: 1, object: rectA, entry: "area", since: now - 100, server: "cs2", state: "running" },
      ];
      const all = await ok("threads --all");
      expect(all).to.have.length(3);
      expect(all[2]).to.match(new RegExp(`^\\s+t:other:2\\s+${rectA}\\.area@cs2\\s+1\\s+0\\.3 s\\s+running$`));
      cluster.threadFrames = [];
      expect(await ok("threads --all")).to.deep.equal(["no thread runs in the cluster"]);
    });

    it("should show a thread's events in clock order with their server, time and duration", async () => {
      cluster.traceEvents = [
        { clock: 3, at: 1000, server: "cs1", thread: "t:ws-test:1", kind: "frame enter", detail: "run of x (depth 0)" },
        { clock: 7, at: 1004, server: "cs2", thread: "t:ws-test:1", kind: "invoke", detail: "step of y from cs1 (depth 1)" },
        { clock: 9, at: 1010, server: "cs1", thread: "t:ws-test:1", kind: "frame exit", detail: "run of x (depth 0)", ms: 10 },
      ];
      const out = await ok("trace t:ws-test:1");
      expect(out[0]).to.match(/^clock\s+server\s+time\s+event\s+detail$/);
      expect(out.slice(1).map((l) => l.split(/\s{2,}/))).to.deep.equal([
        ["3", "cs1", "+0 ms", "frame enter", "run of x (depth 0)"],
        ["7", "cs2", "+4 ms", "invoke", "step of y from cs1 (depth 1)"],
        ["9", "cs1", "+10 ms", "frame exit", "run of x (depth 0) (10.00 ms)"],
      ]);
      cluster.traceEvents = [];
      expect(await ok("trace t:ws-test:2")).to.deep.equal(["thread t:ws-test:2: no event of it is kept on any server"]);
    });

    it("should kill a thread and say where its frames were, or that none ran", async () => {
      cluster.killReport = { thread: "t:ws-test:1", frames: [{ server: "cs1", frames: 2 }, { server: "cs2", frames: 1 }], unreachable: [{ server: "cs3", error: "connection refused" }] };
      expect(await ok("kill t:ws-test:1")).to.deep.equal(["killed thread t:ws-test:1 (frames: 2 on cs1, 1 on cs2)", "  (cs3 could not be asked: connection refused)"]);
      expect(cluster.callsOf("kill")).to.deep.equal([["t:ws-test:1"]]);
      cluster.killReport = { thread: "t:ws-test:9", frames: [], unreachable: [] };
      expect(await ok("kill t:ws-test:9")).to.deep.equal(["thread t:ws-test:9: no frame of it runs on any compute server"]);
    });

    it("should kill the invocation it waits for on interrupt, and say there is none otherwise", async () => {
      expect(session.interrupt(), "nothing runs").to.equal(false);
      let release!: () => void;
      cluster.onInvoke = () => new Promise<void>((resolve) => (release = resolve));
      const line = session.run("RectA.area()");
      await new Promise((resolve) => setImmediate(resolve));
      expect(session.interrupt()).to.equal(true);
      expect(cluster.callsOf("kill")).to.have.length(1);
      expect(String(cluster.callsOf("kill")[0][0])).to.match(/^t:ws-test:/);
      release();
      await line;
      expect(session.interrupt(), "it ended").to.equal(false);
    });
  });

  describe("help and what works", () => {
    /** A line of each kind of command help lists (a new command must add one here). */
    const SAMPLES: Record<string, string> = {
      load: "load x.ts", new: "new Rectangle R9", invoke: "RectA.area()", ls: "ls", cd: "cd /", pwd: "pwd", mv: "mv RectA RectB", rm: "rm RectA",
      info: "info RectA", inspect: "inspect RectA", pages: "pages RectA", threads: "threads", kill: "kill t:ws-test:1", trace: "trace t:ws-test:1",
      servers: "servers", set: "set deadline 5s", help: "help", exit: "exit",
    };

    it("should list in help only commands that work: none answers 'not available'", async () => {
      expect(Object.keys(SAMPLES).sort(), "a sample line for every command help lists").to.deep.equal(Object.keys(HELP).sort());
      cluster.nextDescriptor = descriptor();
      for (const [kind, line] of Object.entries(SAMPLES)) {
        const r = await session.run(line);
        expect(`${r.error ?? ""}`, `${kind}: ${line}`).to.not.match(/not available/);
        expect(helpText()).to.contain(HELP[kind as keyof typeof HELP].usage);
      }
    });

    it("should show an object's fields with inspect, references as sysnames", async () => {
      const other = newSysName(ds1);
      cluster.inspectResult = { className: "Team", classVersion: 2, server: "cs1", fields: { members: ["ana"], inbox: cluster.ref(other) } };
      expect(await ok("inspect --depth 2 RectA")).to.deep.equal([
        `/RectA -> ${rectA}  (Team v2, 2 persistent fields, read at cs1)`, "  members: [ 'ana' ]", `  inbox: -> ${other}`,
      ]);
      expect(cluster.callsOf("inspect")).to.deep.equal([[rectA, { depth: 2 }]]);
    });

    it("should start a background invocation as job 1, print its thread at once, and tell its end", async () => {
      const ended: string[] = [];
      const s = new ShellSession(cluster.asCluster(), { onJobEnd: (line) => ended.push(line) });
      let release!: (v: unknown) => void;
      cluster.onInvoke = () => new Promise((resolve) => (release = resolve));
      const started = await s.run("RectA.size(5, 10) &");
      expect(started.output).to.have.length(1);
      expect(started.output[0]).to.match(/^\[1\] t:ws-test:\S+$/);
      const thread = started.output[0].slice(4);
      cluster.records = [{ thread, call: true, since: Date.now(), output: "ws-test", frames: [{ key: "root", server: "cs1", depth: 0, object: rectA, entry: "size", since: Date.now(), state: "running" }], state: "running" }];
      expect((await s.run("threads")).output[1]).to.match(new RegExp(`^\\[1\\]\\s+${thread}\\s`));
      expect(ended).to.deep.equal([]);
      await s.run("kill %1");
      expect(cluster.callsOf("kill")).to.deep.equal([[thread]]);
      release(50);
      await new Promise((resolve) => setImmediate(resolve));
      expect(ended).to.deep.equal(["[1] done: 50"]);
      cluster.onInvoke = () => Promise.reject(new Error("it broke"));
      expect((await s.run("RectA.area() &")).output[0]).to.match(/^\[2\] /);
      await new Promise((resolve) => setImmediate(resolve));
      expect(ended[1]).to.equal("[2] failed: it broke");
      expect((await s.run("kill %1")).error).to.equal("job %1 has already ended");
      expect((await s.run("kill %7")).error).to.equal("no running job %7 in this shell (threads lists them)");
      cluster.traceEvents = [];
      expect((await s.run("trace %1")).output, "an ended job is still traced").to.deep.equal([`thread ${thread}: no event of it is kept on any server`]);
      expect((await s.run("trace %9")).error).to.equal("no job %9 in this shell (threads lists the running ones)");
    });

    it("should refuse an unbound name as an argument without running the invocation", async () => {
      expect(await fails("RectA.f(Other)")).to.contain("no object named /Other");
      expect(cluster.callsOf("invoke")).to.deep.equal([]);
    });
  });

  describe("other lines", () => {
    it("should set exit on exit and quit", async () => {
      expect(await session.run("exit")).to.deep.equal({ output: [], exit: true });
      expect(await session.run("quit")).to.deep.equal({ output: [], exit: true });
    });

    it("should print nothing for a blank or comment line", async () => {
      expect(await session.run("")).to.deep.equal({ output: [] });
      expect(await session.run("   # a comment")).to.deep.equal({ output: [] });
    });

    it("should print help", async () => {
      expect(await ok("help")).to.deep.equal([helpText()]);
      expect(await ok("help mv")).to.deep.equal([helpText("mv")]);
    });
  });
});

describe("describeError", () => {
  it("should give class, message and server", () => {
    const err = Object.assign(new UnknownEntryError("no entry 'x'", { className: "C", entry: "x" }), { server: "cs2" });
    expect(describeError(err)).to.equal("UnknownEntryError: no entry 'x' (at cs2)");
  });

  it("should leave out Error, CloudsError and RemoteError", () => {
    expect(describeError(new Error("m"))).to.equal("m");
    expect(describeError(new CloudsError("m"))).to.equal("m");
    expect(describeError(Object.assign(new CloudsError("m"), { server: "ds1" }))).to.equal("m (at ds1)");
  });

  it("should keep the name of an error rebuilt from another process", () => {
    expect(describeError(fromWireError({ name: "TypeError", message: "bad field", server: "cs1" }))).to.equal("TypeError: bad field (at cs1)");
    expect(describeError(fromWireError({ name: "ArgumentError", message: "wrong", server: "cs1", fields: {} }))).to.equal("ArgumentError: wrong (at cs1)");
  });

  it("should print a thrown non-error as a string", () => {
    expect(describeError("plain")).to.equal("plain");
    expect(describeError(42)).to.equal("42");
    expect(describeError(undefined)).to.equal("undefined");
  });
});
