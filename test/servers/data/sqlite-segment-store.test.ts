/**
 * SqliteSegmentStore: the shared SegmentStore behaviour suite, then what only a durable store
 * does: survive close/reopen and SIGKILL, bump its epoch, honour its durability pragmas,
 * fail a group-commit batch as a whole, and keep page batches out of entity transactions.
 * Every store is closed and every temp dir removed in afterEach, also when a test failed.
 */
import { expect } from "chai";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { PAGE_SIZE, type ServerId } from "../../../ra-kernel/ids.js";
import { SqliteSegmentStore } from "../../../servers/data/sqlite-segment-store.js";
import type { SegmentStoreOptions } from "../../../servers/data/store-options.js";
import {
  HOME,
  newClass,
  newObject,
  pageOf,
  rejection,
  segmentStoreBehaviour,
} from "../../support/segment-store-suite.js";
import { CRASH_DECISION, CRASH_PAGES } from "../../support/commit-and-die.js";
import { writeLegacyStore } from "../../support/legacy-segment-store.js";
import { REPO_ROOT } from "../../support/compiled-examples.js";
import { sqliteFootprint } from "../../support/sqlite-footprint.js";
import { TestCluster } from "../../support/test-cluster.js";

const CHILD_SCRIPT = join(__dirname, "../../support/commit-and-die.js");

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "clouds-store-"));
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the crash-test child to its end (it SIGKILLs itself after its commits resolved). */
function runCrashChild(file: string, durability: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD_SCRIPT, file, durability], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe("SqliteSegmentStore", () => {
  segmentStoreBehaviour(async () => {
    const dir = tempDir();
    try {
      const store = await SqliteSegmentStore.open({ file: join(dir, "ds1.db"), serverId: HOME });
      const dispose = async () => {
        try {
          await store.close();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      };
      return { store, dispose };
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  });

  describe("on disk", () => {
    let dir: string;
    let file: string;
    let opened: SqliteSegmentStore[] = [];

    async function openStore(options: Partial<SegmentStoreOptions> = {}): Promise<SqliteSegmentStore> {
      const store = await SqliteSegmentStore.open({ file, serverId: HOME, ...options });
      opened.push(store);
      return store;
    }

    beforeEach(() => {
      dir = tempDir();
      file = join(dir, "sub", "ds1.db");
    });

    afterEach(async () => {
      try {
        for (const store of opened) await store.close();
      } finally {
        opened = [];
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("should keep objects, pages, versions and classes across close and reopen", async () => {
      const first = await openStore();
      const obj = newObject();
      const rect = newClass("Rectangle", 1);
      await first.createObject(obj.desc, obj.segments);
      await first.putClass(rect);
      await first.commitPages([{ segment: obj.desc.segments.data, page: 3, bytes: pageOf(3) }]);
      await first.commitPages([{ segment: obj.desc.segments.data, page: 3, bytes: pageOf(4) }]);
      await first.close();

      const second = await openStore();
      expect(second.getObject(obj.desc.sysname)).to.deep.equal(obj.desc);
      expect(second.getSegment(obj.segments[1].sysname)).to.deep.equal(obj.segments[1]);
      expect(second.getClass("Rectangle")).to.deep.equal(rect);
      const page = second.readPage(obj.desc.segments.data, 3);
      expect(page.version).to.equal(2);
      expect(page.bytes).to.deep.equal(pageOf(4));
      expect(await second.commitPages([{ segment: obj.desc.segments.data, page: 3, bytes: pageOf(5) }])).to.deep.equal([3]);
    });

    it("should increase the epoch at each open", async () => {
      const epochs: number[] = [];
      for (let i = 0; i < 3; i++) {
        const store = await openStore();
        epochs.push(store.epoch);
        await store.close();
      }
      expect(epochs).to.deep.equal([1, 2, 3]);
    });

    it("should refuse a file that belongs to another data server", async () => {
      await (await openStore()).close();
      const err = await rejection(openStore({ serverId: "ds2" as ServerId }));
      expect(err.message).to.match(/belongs to data server ds1/);
      expect((await openStore()).epoch).to.equal(2);
    });

    it("should use WAL and synchronous=FULL by default (durability power)", async () => {
      const store = await openStore();
      expect(store.sqliteSettings()).to.deep.include({ journalMode: "wal", synchronous: 2 });
      expect(store.durability).to.equal("power");
    });

    it("should use WAL and synchronous=NORMAL for durability process", async () => {
      const store = await openStore({ durability: "process" });
      expect(store.sqliteSettings()).to.deep.include({ journalMode: "wal", synchronous: 1 });
    });

    it("should reject every call of a batch and store nothing when its transaction fails", async () => {
      const store = await openStore();
      const obj = newObject();
      await store.createObject(obj.desc, obj.segments);
      const seg = obj.desc.segments.data;
      const other = new BetterSqlite3(file);
      try {
        other.exec(`CREATE TRIGGER fail_page_5 BEFORE INSERT ON pages WHEN NEW.page_no = 5
                    BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`);
        const before = store.stats.transactions;
        const good = store.commitPages([{ segment: seg, page: 1, bytes: pageOf(1) }]);
        const doomed = store.commitPages([{ segment: seg, page: 5, bytes: pageOf(5) }]);
        expect((await rejection(good)).message).to.match(/disk on fire/);
        expect((await rejection(doomed)).message).to.match(/disk on fire/);
        expect(store.stats.transactions).to.equal(before);
        expect(store.readPage(seg, 1)).to.deep.equal({ bytes: null, version: 0 });
        other.exec(`DROP TRIGGER fail_page_5`);
      } finally {
        other.close();
      }
      expect(await store.commitPages([{ segment: seg, page: 5, bytes: pageOf(5) }])).to.deep.equal([1]);
    });

    it("should batch the calls that arrive within groupCommitMaxWaitMs", async () => {
      const store = await openStore({ groupCommitMaxWaitMs: 50 });
      const obj = newObject();
      await store.createObject(obj.desc, obj.segments);
      const before = store.stats.transactions;
      const first = store.commitPages([{ segment: obj.desc.segments.data, page: 0, bytes: pageOf(0) }]);
      await new Promise<void>((resolve) => setImmediate(resolve));
      const second = store.commitPages([{ segment: obj.desc.segments.data, page: 1, bytes: pageOf(1) }]);
      expect(await Promise.all([first, second])).to.deep.equal([[1], [1]]);
      expect(store.stats.transactions - before).to.equal(1);
    });

    it("should keep page commits out of concurrent entity transactions", async () => {
      const store = await openStore();
      const a = newObject();
      const b = newObject();
      await store.createObject(a.desc, a.segments);
      await store.putClass(newClass("Rectangle", 1));
      const seg = a.desc.segments.data;
      const results = await Promise.allSettled([
        store.commitPages([{ segment: seg, page: 0, bytes: pageOf(1) }]),
        store.createObject(b.desc, b.segments),
        store.putClass(newClass("Rectangle", 1)), // rejected: its rollback must not undo pages
        store.commitPages([{ segment: seg, page: 1, bytes: pageOf(2) }]),
        store.deleteObject(b.desc.sysname),
        store.commitPages([{ segment: seg, page: 2, bytes: pageOf(3) }]),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal([
        "fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled", "fulfilled",
      ]);
      await store.close();
      const reopened = await openStore();
      for (const page of [0, 1, 2]) expect(reopened.readPage(seg, page).version, `page ${page}`).to.equal(1);
      expect(reopened.getObject(b.desc.sysname)).to.equal(null);
    });

    /** The stored blob of a page, read over a connection of its own. */
    function storedBlob(segment: string, page: number): Buffer {
      const db = new BetterSqlite3(file, { readonly: true });
      try {
        return (db.prepare(`SELECT bytes FROM pages WHERE segment = ? AND page_no = ?`).get(segment, page) as { bytes: Buffer }).bytes;
      } finally {
        db.close();
      }
    }

    function tableSql(table: string): string {
      const db = new BetterSqlite3(file, { readonly: true });
      try {
        return (db.prepare(`SELECT sql FROM sqlite_master WHERE name = ?`).get(table) as { sql: string }).sql;
      } finally {
        db.close();
      }
    }

    it("should create its tables WITHOUT ROWID (a key is stored once)", async () => {
      await openStore();
      for (const table of ["pages", "segments", "objects"]) expect(tableSql(table), table).to.match(/WITHOUT ROWID/);
    });

    it("should store an all-zero page as an empty blob that reads back as zeros with its version", async () => {
      const store = await openStore();
      const obj = newObject();
      await store.createObject(obj.desc, obj.segments);
      const seg = obj.desc.segments.heap;
      await store.commitPages([{ segment: seg, page: 2, bytes: pageOf(1) }]);
      expect(await store.commitPages([{ segment: seg, page: 2, bytes: new Uint8Array(PAGE_SIZE) }])).to.deep.equal([2]);
      expect(storedBlob(seg, 2)).to.have.length(0);
      expect(store.readPage(seg, 2)).to.deep.equal({ bytes: Buffer.alloc(PAGE_SIZE), version: 2 });
    });

    it("should store a mostly-zero page in a short blob and a full page whole, both read back exactly", async () => {
      const store = await openStore();
      const obj = newObject();
      await store.createObject(obj.desc, obj.segments);
      const sparse = new Uint8Array(PAGE_SIZE);
      sparse.set([1, 2, 3, 4], 0);
      sparse.set([5, 6, 7, 8, 9], 1872);
      const seg = obj.desc.segments.data;
      await store.commitPages([{ segment: seg, page: 0, bytes: sparse }, { segment: seg, page: 1, bytes: pageOf(9) }]);
      expect(storedBlob(seg, 0).length).to.be.below(32);
      expect(storedBlob(seg, 1)).to.have.length(PAGE_SIZE);
      await store.close();
      const reopened = await openStore();
      expect(reopened.readPage(seg, 0)).to.deep.equal({ bytes: Buffer.from(sparse), version: 1 });
      expect(reopened.readPage(seg, 1)).to.deep.equal({ bytes: Buffer.from(pageOf(9)), version: 1 });
    });

    it("should open a store written before pages were encoded: its whole pages load, new ones are encoded", async () => {
      mkdirSync(join(dir, "sub"));
      const obj = newObject();
      const seg = obj.desc.segments.data;
      writeLegacyStore(file, HOME, obj, [{ segment: seg, page: 0, version: 3, bytes: pageOf(5) }]);
      const store = await openStore();
      expect(store.epoch).to.equal(2);
      expect(store.getObject(obj.desc.sysname)).to.deep.equal(obj.desc);
      expect(store.countObjects()).to.equal(1);
      expect(store.readPage(seg, 0)).to.deep.equal({ bytes: Buffer.from(pageOf(5)), version: 3 });
      expect(await store.commitPages([{ segment: seg, page: 0, bytes: new Uint8Array(PAGE_SIZE) }])).to.deep.equal([4]);
      expect(storedBlob(seg, 0)).to.have.length(0);
      expect(tableSql("pages"), "opened without rebuilding its tables").to.not.match(/WITHOUT ROWID/);
      expect(await store.deleteObject(obj.desc.sysname)).to.equal(true);
      expect(store.getSegment(obj.segments[2].sysname)).to.equal(null);
      expect(store.countObjects()).to.equal(0);
    });

    it("should keep its object count across creations, deletions and a reopen", async () => {
      const store = await openStore();
      const objs = [newObject(), newObject(), newObject()];
      await Promise.all(objs.map((o) => store.createObject(o.desc, o.segments)));
      await rejection(store.createObject(objs[0].desc, objs[0].segments));
      await store.deleteObject(objs[1].desc.sysname);
      expect(store.countObjects()).to.equal(2);
      await store.close();
      expect((await openStore()).countObjects()).to.equal(2);
    });

    for (const durability of ["power", "process"]) {
      it(`should keep acknowledged pages and atomic decisions when the process is SIGKILLed (durability ${durability})`, async () => {
        const result = await runCrashChild(file, durability);
        expect(result.signal, result.stderr).to.equal("SIGKILL");
        const { object, segment, versions, decision } = JSON.parse(result.stdout.trim());
        expect(versions).to.have.length(CRASH_PAGES);
        const store = await openStore({ durability: durability as "power" | "process" });
        expect(store.epoch).to.equal(2);
        expect(store.getObject(object)).to.not.equal(null);
        for (let page = 0; page < versions.length; page++) {
          const stored = store.readPage(segment, page);
          expect(stored.version, `page ${page}`).to.equal(versions[page]);
          expect(stored.bytes, `page ${page}`).to.deep.equal(pageOf(page));
        }
        expect(decision).to.deep.include({ id: CRASH_DECISION, outcome: "commit" });
        expect(store.getDecision(CRASH_DECISION)).to.deep.equal(decision);
      });
    }
  });

  describe("footprint in a real cluster", function () {
    this.timeout(120_000);
    const OBJECTS = 200;
    let cluster: TestCluster | undefined;

    after(async () => {
      await cluster?.stop();
    });

    it(`should store a Rectangle, created and invoked once, in under 1 KiB (${OBJECTS} of them, checkpointed)`, async () => {
      cluster = await TestCluster.start();
      const client = await cluster.connect();
      await client.load(join(REPO_ROOT, "objects/examples/rectangle.ts"));
      const file = join(cluster.info.servers.find((s) => s.role === "data")!.dir, "segments.sqlite");
      const before = sqliteFootprint(file).bytes;
      let next = 0;
      const worker = async () => {
        while (next < OBJECTS) {
          const i = next++;
          const desc = await client.createObject("Rectangle", `/footprint/r${i}`);
          await client.invoke(desc.sysname, "size", [i, 2]);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      const perObject = (sqliteFootprint(file).bytes - before) / OBJECTS;
      expect(perObject).to.be.below(1024);
    });
  });
});
