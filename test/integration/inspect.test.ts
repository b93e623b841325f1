/**
 * `inspect NAME` on a real cluster, with the README's Team example (test/fixtures/team.ts):
 * every persistent field decoded — the array, the Map of records with Dates, the reference to
 * its Mailbox — a big array cut with its size, `--depth`, the volatile field left out, and
 * nothing written or run (the data server commits nothing for it).
 */
import { expect } from "chai";
import * as path from "node:path";
import { TestCluster } from "../support/test-cluster.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import type { Cluster } from "../../shell/client/cluster.js";
import { sysnameOfRemote } from "../../shell/client/remote.js";

describe("inspect (integration, real processes)", function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let client: Cluster;

  before(async () => {
    cluster = await TestCluster.start({ compute: 2 });
    client = await cluster.connect();
    for (const file of ["objects/examples/mailbox.ts", "test/fixtures/team.ts"]) await client.load(path.join(REPO_ROOT, file));
    for (const line of ["new Mailbox Inbox", "new Team T(Inbox)", "@cs1 T.win('ana')", "@cs2 T.win('ana')", "@cs1 T.win('bo')"]) {
      const r = await cluster.exec(line);
      expect(r.code, `${line}: ${r.stderr}`).to.equal(0);
    }
  });

  after(async () => {
    await cluster?.stop();
  });

  it("should show the README's Team fields decoded: members, scores with their Dates, the inbox reference", async () => {
    const inbox = await client.resolve("Inbox");
    const r = await cluster.exec("inspect T");
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).to.match(/^\/T -> sys:\S+ {2}\(Team v1, 3 persistent fields, read at cs[12]\)$/);
    expect(lines).to.include("  members: [ 'ana', 'bo' ]");
    expect(r.stdout).to.match(/ {2}scores: Map\(2\) \{\n\s+'ana' => \{ wins: 2, last: \d{4}-\d\d-\d\dT[\d:.]+Z \},\n\s+'bo' => \{ wins: 1, last: /);
    expect(lines).to.include(`  inbox: -> ${inbox}`);
    expect(r.stdout, "the volatile field is not persistent").to.not.contain("calls");
    const api = await client.inspect(await client.resolve("T"));
    expect(sysnameOfRemote(api.fields.inbox)).to.equal(inbox);
    expect((api.fields.scores as Map<string, { wins: number; last: Date }>).get("bo")?.last).to.be.instanceOf(Date);
  });

  it("should cut a big field with its size, follow --depth, and write nothing", async () => {
    await cluster.exec("@cs2 T.fill(300)");
    const commits = await cluster.metric("ds1", "commits_total");
    const r = await cluster.exec("inspect T");
    expect(r.stdout, "the first 100 members, then how many more").to.contain("'ana'").and.contain("'m97'").and.not.contain("'m98'");
    expect(r.stdout).to.contain("'… 202 more items (302 in all)'");
    const shallow = await cluster.exec("inspect --depth 0 T");
    expect(shallow.stdout).to.contain("  members: 'Array(302)'").and.contain("  scores: 'Map(2)'");
    expect(await cluster.metric("ds1", "commits_total"), "inspect committed nothing").to.equal(commits);
    const info = await cluster.exec("info T");
    expect(info.stdout).to.match(/^ {2}data {6}sys:\S+ {2}\(1 of \d+ pages stored, \d+ bytes on disk\)$/m);
    expect(info.stdout).to.match(/^ {2}heap {6}sys:\S+ {2}\([1-9]\d* of \d+ pages stored, \d+ (?:bytes|KiB) on disk\)$/m);
    expect(info.stdout).to.match(/^ {2}volatile {2}sys:\S+ {2}\(kept on compute servers only, never stored\)$/m);
    expect((await cluster.exec("inspect --depth x T")).stderr).to.match(/--depth needs a number of levels, 0 to 20, not 'x'/);
    expect((await cluster.exec("inspect Nope")).stderr).to.match(/NameUnboundError: no object named \/Nope/);
  });
});
