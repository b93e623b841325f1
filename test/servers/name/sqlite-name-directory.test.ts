import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect } from "chai";
import { newSysName, type ServerId } from "../../../ra-kernel/ids.js";
import { SqliteNameDirectory } from "../../../servers/name/sqlite-name-directory.js";
import { describeNameDirectoryBehaviour } from "../../support/name-directory-behaviour.js";

describe("SqliteNameDirectory", () => {
  let tmp: string;

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), "clouds-names-"));
  });

  afterEach(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe("behaviour", () => {
    describeNameDirectoryBehaviour({
      open: () => SqliteNameDirectory.open(join(tmp, "names.db")),
      dispose: async () => {},
    });
  });

  describe("storage", () => {
    it("should keep bindings across close and reopen", async () => {
      const file = join(tmp, "state", "names.db");
      const first = await SqliteNameDirectory.open(file);
      const s = newSysName("ds1" as ServerId);
      const bound = await first.bind("/users/ana/RectA", s, "object", { meta: { cls: "Rectangle", v: [1, 2] } });
      await first.bind("/gone", s, "object");
      await first.unbind("/gone");
      await first.close();

      const second = await SqliteNameDirectory.open(file);
      try {
        expect(await second.lookup("/users/ana/RectA")).to.deep.equal(bound);
        expect(await second.lookup("/users/ana")).to.include({ kind: "directory" });
        expect(await second.lookup("/gone")).to.equal(null);
      } finally {
        await second.close();
      }
    });

    it("should commit concurrent operations together, keeping each refused one out", async () => {
      const file = join(tmp, "names.db");
      const dir = await SqliteNameDirectory.open(file);
      const s = newSysName("ds1" as ServerId);
      const before = dir.commits;
      const results = await Promise.allSettled([
        ...Array.from({ length: 8 }, (_, i) => dir.bind(`/batch/o${i}`, s, "object")),
        dir.bind("/batch/o3", s, "object"), // refused: the name exists
        dir.lookup("/batch/o1"),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal([...Array(8).fill("fulfilled"), "rejected", "fulfilled"]);
      expect((results[9] as PromiseFulfilledResult<unknown>).value, "a read sees the writes before it").to.include({ path: "/batch/o1" });
      expect(dir.commits - before, "one batch, one commit").to.equal(1);
      await dir.close();
      const again = await SqliteNameDirectory.open(file);
      try {
        expect((await again.list("/batch")).map((b) => b.path)).to.have.length(8);
      } finally {
        await again.close();
      }
    });

    it("should create the folder of the file and leave it in WAL mode", async () => {
      const file = join(tmp, "a", "b", "names.db");
      const dir = await SqliteNameDirectory.open(file);
      await dir.bind("/x", null, "directory");
      await dir.close();
      expect(existsSync(file)).to.equal(true);
      const db = new Database(file, { readonly: true });
      try {
        expect(db.pragma("journal_mode", { simple: true })).to.equal("wal");
      } finally {
        db.close();
      }
    });
  });
});
