/**
 * Uint8Array and Date fields changed in place (issue 9, point 5) on a real cluster: the
 * changes persist with no re-assignment, are seen from the other compute server, survive
 * a kill -9 of every server and a new clouds up, and leave the object (results, nested
 * invocation arguments) as copies. A change that cannot persist throws, naming the field.
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/index.js";
import type { InPlaceValues } from "../fixtures/in-place-values.js";

const FIXTURE = path.join(REPO_ROOT, "test/fixtures/in-place-values.ts");

const MUTATED = {
  raw: new Uint8Array([2, 44, 9, 9, 2, 6, 70, 80]),
  when: new Date(Date.UTC(2024, 0, 1, 5, 6)),
  stamp: new Date(1234),
  blob: new Uint8Array([3, 2, 1]),
};

describe("Uint8Array and Date fields changed in place (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start();
    client = await cluster.connect();
    await client.load(FIXTURE);
  });

  after(async () => {
    await client?.close().catch(() => undefined);
    await cluster?.stop();
  });

  it("should persist element writes, byte methods and Date setters, seen from the other compute server", async () => {
    const o = await client.create<InPlaceValues>("InPlaceValues", "IP");
    await o.at("cs1").mutate();
    expect(await o.at("cs2").snapshot()).to.deep.equal(MUTATED);
  });

  it("should pass the fields to a nested invocation as copies", async () => {
    const o = await client.bind<InPlaceValues>("IP");
    expect(await o.at("cs2").passOn()).to.deep.equal({ bytes: Array.from(MUTATED.raw), time: MUTATED.when.getTime(), tag: "[object Uint8Array]" });
  });

  it("should refuse a change that cannot persist, naming the field", async () => {
    const o = await client.bind<InPlaceValues>("IP");
    const [pastEnd, buffer] = await o.at("cs1").refused();
    expect(pastEnd).to.match(/^WriteThroughError: field 'raw\[8\]': .*fixed length \(8\)/);
    expect(buffer).to.match(/^WriteThroughError: field 'raw': .*no ArrayBuffer/);
    expect((await o.at("cs2").snapshot()).raw).to.deep.equal(MUTATED.raw);
  });

  it("should keep the changes after kill -9 of all servers and a new clouds up, and go on changing them", async () => {
    await client.close();
    cluster.killAll();
    await cluster.up();
    client = await cluster.connect();
    const o = await client.bind<InPlaceValues>("IP");
    expect(await o.at("cs2").snapshot()).to.deep.equal(MUTATED);
    expect(await o.at("cs1").bump()).to.deep.equal([7, 1]);
    expect(await o.at("cs2").bump()).to.deep.equal([8, 2]);
    await client.close();
    cluster.killAll();
    await cluster.up();
    client = await cluster.connect();
    const again = await client.bind<InPlaceValues>("IP");
    const after = await again.at("cs1").snapshot();
    expect([after.raw[5], after.when.getUTCMilliseconds()]).to.deep.equal([8, 2]);
  });
});
