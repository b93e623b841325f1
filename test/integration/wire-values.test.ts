/**
 * Rich values on the wire (objects/wire-value.ts): bigint, Date, Map, Set, undefined,
 * NaN/-0 and Uint8Array cross client -> compute server -> nested invocation on the other
 * compute server -> back, exactly; references inside them stay references.
 */
import { expect } from "chai";
import { fromWire } from "../../objects/wire-value.js";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import type { WireEcho } from "../fixtures/wire-echo.js";

const FIXTURE = path.join(REPO_ROOT, "test/fixtures/wire-echo.ts");

function rich(): unknown[] {
  return [
    1n, -(2n ** 100n), new Map<unknown, unknown>([[1, "a"], ["k", new Set([1n, "x"])]]), new Set(["s", 2]),
    new Date(1_700_000_000_123), [1, undefined, 3], { a: undefined, b: { $bigint: "not a tag" } }, NaN, -0, Infinity,
    new Uint8Array([1, 2, 255]), "last",
  ];
}

describe("Rich values on the wire (integration, real processes)", function () {
  this.timeout(60_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start();
    client = await cluster.connect();
    await client.load(FIXTURE);
    await client.create<WireEcho>("WireEcho", "E1");
    await client.create<WireEcho>("WireEcho", "E2");
  });

  after(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it("should round-trip a bigint and a Map exactly", async () => {
    const e = await client.bind<WireEcho>("E1");
    const back = await e.echo(1n, new Map([[1, "a"]]));
    expect(back).to.deep.equal([1n, new Map([[1, "a"]])]);
  });

  it("should round-trip every value type from the client to both compute servers", async () => {
    const e = await client.bind<WireEcho>("E1");
    for (const at of ["cs1", "cs2"]) expect(await e.at(at).echo(...rich())).to.deep.equal(rich());
  });

  it("should round-trip them through a nested invocation on the other compute server", async () => {
    const [e1, e2] = [await client.bind<WireEcho>("E1"), await client.bind<WireEcho>("E2")];
    expect(await e1.at("cs1").echoVia(e2 as never, "cs2", ...rich())).to.deep.equal(rich());
  });

  it("should keep references inside rich values as references", async () => {
    const [e1, e2] = [await client.bind<WireEcho>("E1"), await client.bind<WireEcho>("E2")];
    const [m] = (await e1.at("cs2").echo(new Map([["other", e2]]))) as [Map<string, WireEcho>];
    expect(m).to.be.instanceOf(Map);
    expect(await (m.get("other") as unknown as typeof e2).echo(5n)).to.deep.equal([5n]);
  });

  it("should store rich values in a field and read them back on another server", async () => {
    const e = await client.bind<WireEcho>("E1");
    const v = { when: new Date(5), big: 7n, tags: new Set(["a"]), byKey: new Map([["x", [1, undefined]]]) };
    expect(await e.at("cs1").keep(v)).to.deep.equal(v);
    expect(await e.at("cs2").read()).to.deep.equal(v);
  });

  it("should print every value kind whole with exec --json, in the documented tagged form that fromWire reads back", async () => {
    const e = await client.bind<WireEcho>("E2");
    await e.keep(rich());
    const r = await cluster.exec("E2.read()", ["--json"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim().split("\n")).to.have.length(1);
    const parsed = JSON.parse(r.stdout, (_k, v: unknown) => (v && typeof v === "object" && "$bytes" in v ? new Uint8Array(Buffer.from((v as { $bytes: string }).$bytes, "base64")) : v));
    expect(fromWire(parsed)).to.deep.equal(rich());
    const full = await cluster.exec("E2.read()");
    expect(full.stdout, "exec prints the whole value").to.not.match(/more items|\[Object\]|abbreviated/);
  });

  it("should print them in the shell as Node's inspect does", async () => {
    const r = await cluster.exec("E1.keep(12345678901234567890n)");
    expect(r.stdout).to.equal("12345678901234567890n\n");
  });
});
