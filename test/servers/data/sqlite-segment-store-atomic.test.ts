/**
 * SqliteSegmentStore on disk, for atomic threads: prepared records and decisions (with their
 * attempts) survive close and reopen, and a store file made before attempts and prepared
 * records existed opens: TypeORM's synchronize rebuilds `atomic_decisions` with the new column
 * once (rows kept, attempt 0, still WITHOUT ROWID, its index back), and finds nothing left to
 * change at the next open. The shared behaviour is in segment-store-suite.ts.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { DataSource } from "typeorm";
import { asAtomicId, newSysName, type ServerId } from "../../../ra-kernel/ids.js";
import { EVERY_ATTEMPT, type DecisionRecord } from "../../../servers/data/atomic-decisions.js";
import * as entities from "../../../servers/data/entities/index.js";
import type { PreparedRecord } from "../../../servers/data/segment-store.js";
import { SqliteSegmentStore } from "../../../servers/data/sqlite-segment-store.js";
import { HOME, newObject, pageOf } from "../../support/segment-store-suite.js";

/** `atomic_decisions` as stores made it before attempts, verbatim (TypeORM synchronize of then). */
const DECISIONS_BEFORE_ATTEMPTS = `
DROP INDEX "idx_atomic_decisions_decided_at";
DROP TABLE "atomic_decisions";
DROP TABLE "atomic_prepared";
CREATE TABLE "atomic_decisions" ("id" text PRIMARY KEY NOT NULL, "outcome" text NOT NULL, "proposer" text NOT NULL, "decided_at" integer NOT NULL, "acknowledged" integer NOT NULL) WITHOUT ROWID;
CREATE INDEX "idx_atomic_decisions_decided_at" ON "atomic_decisions" ("decided_at");
INSERT INTO atomic_decisions VALUES ('t:old:abort', 'abort', 'cs2', 1000, 0), ('t:old:commit', 'commit', 'cs1', 1000, 1);
`;

function decision(id: string, outcome: "commit" | "abort", attempt: number): DecisionRecord {
  return { id: asAtomicId(id), outcome, proposer: "cs1", decidedAt: 1000, acknowledged: false, attempt };
}

function prepared(id: string, preparedAt: number): PreparedRecord {
  return {
    id: asAtomicId(id),
    attempt: 2,
    writer: "cs1",
    logHome: "ds2" as ServerId,
    pages: [
      { segment: newSysName(HOME), page: 3, log: Uint8Array.from([9, 8, 7]), stamp: 1234.5 },
      { segment: newSysName(HOME), page: 0, log: new Uint8Array(0) },
    ],
    preparedAt,
  };
}

describe("SqliteSegmentStore: atomic threads on disk", () => {
  let dir: string;
  let file: string;
  let opened: SqliteSegmentStore[] = [];

  async function openStore(): Promise<SqliteSegmentStore> {
    const store = await SqliteSegmentStore.open({ file, serverId: HOME });
    opened.push(store);
    return store;
  }

  /** Runs `sql` over a connection of its own (the store closed). */
  function exec(sql: string): void {
    const db = new BetterSqlite3(file);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  }

  function tableSql(name: string): string | undefined {
    const db = new BetterSqlite3(file, { readonly: true });
    try {
      return (db.prepare(`SELECT sql FROM sqlite_master WHERE name = ?`).get(name) as { sql: string } | undefined)?.sql;
    } finally {
      db.close();
    }
  }

  /** What TypeORM's synchronize would change in the file now (nothing, if the schema is the entities'). */
  async function pendingSchemaChanges(): Promise<string[]> {
    const dataSource = new DataSource({ type: "better-sqlite3", database: file, entities: Object.values(entities) });
    await dataSource.initialize();
    try {
      return (await dataSource.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query);
    } finally {
      await dataSource.destroy();
    }
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "clouds-store-"));
    file = join(dir, "ds1.db");
  });

  afterEach(async () => {
    try {
      for (const store of opened) await store.close();
    } finally {
      opened = [];
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("should keep prepared records and decisions, with their attempts, across close and reopen", async () => {
    const first = await openStore();
    const obj = newObject();
    await first.createObject(obj.desc, obj.segments);
    const [kept, finished] = [prepared("t:p:kept", 2000), prepared("t:p:finished", 1000)];
    await Promise.all([first.putPrepared(kept), first.putPrepared(finished)]);
    const commit = decision("t:p:finished", "commit", 2);
    await first.commitPages([{ segment: obj.desc.segments.data, page: 0, bytes: pageOf(1) }], commit, finished.id);
    const abort = decision("t:d:every", "abort", EVERY_ATTEMPT);
    await first.putDecision(abort);
    await first.close();

    const second = await openStore();
    expect(second.listPrepared()).to.deep.equal([kept]);
    expect(second.getDecision(commit.id)).to.deep.equal(commit);
    expect(second.getDecision(abort.id)).to.deep.equal(abort);
    expect(second.readPage(obj.desc.segments.data, 0).version).to.equal(1);
  });

  it("should create atomic_prepared WITHOUT ROWID, and leave nothing for synchronize to change", async () => {
    await (await openStore()).close();
    expect(tableSql("atomic_prepared")).to.match(/WITHOUT ROWID/);
    expect(await pendingSchemaChanges()).to.deep.equal([]);
  });

  it("should open a store made before attempts: its decisions kept at attempt 0, the rule applied, the table rebuilt once", async () => {
    await (await openStore()).close();
    exec(DECISIONS_BEFORE_ATTEMPTS);
    expect(await pendingSchemaChanges(), "the old table is rebuilt, atomic_prepared created").to.have.length.above(1);

    const store = await openStore();
    expect(store.getDecision(asAtomicId("t:old:abort"))).to.deep.equal({ ...decision("t:old:abort", "abort", 0), proposer: "cs2" });
    expect(store.getDecision(asAtomicId("t:old:commit"))).to.deep.equal({ ...decision("t:old:commit", "commit", 0), acknowledged: true });
    expect(await store.putDecision(decision("t:old:abort", "commit", 1))).to.deep.equal(decision("t:old:abort", "commit", 1));
    expect(await store.putDecision(decision("t:old:commit", "abort", 1))).to.deep.include({ outcome: "commit", attempt: 0 });
    await store.putPrepared(prepared("t:p:new", 1));
    await store.close();

    expect(tableSql("atomic_decisions")).to.match(/"attempt" integer NOT NULL DEFAULT \(0\)\) WITHOUT ROWID$/);
    expect(tableSql("idx_atomic_decisions_decided_at")).to.match(/decided_at/);
    expect(await pendingSchemaChanges()).to.deep.equal([]);
    expect((await openStore()).listPrepared().map((r) => r.id)).to.deep.equal(["t:p:new"]);
  });
});
