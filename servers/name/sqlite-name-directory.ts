/**
 * SqliteNameDirectory: the name server's durable NameDirectory, one SQLite file through
 * TypeORM (better-sqlite3 driver), in WAL mode with synchronous=FULL so a bind that
 * returned survives a crash of the process or the machine.
 *
 * Use `await SqliteNameDirectory.open(file)` and `await close()` when done (an open
 * DataSource keeps the process alive). The semantics live in TreeNameDirectory; this file
 * only maps BindingRows onto the `bindings` table inside one TypeORM transaction per
 * operation. Do not share the file with another process: the name server owns it.
 */
import "reflect-metadata";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import createDebug from "debug";
import { DataSource, type EntityManager } from "typeorm";
import type { SysName } from "../../ra-kernel/ids.js";
import { BindingEntity } from "./entities/binding-entity.js";
import { parentOf, ROOT, type Binding, type BindingKind } from "./name-directory.js";
import { TreeNameDirectory, type BindingRows } from "./tree-name-directory.js";

const log = createDebug("servers:name");

export class SqliteNameDirectory extends TreeNameDirectory {
  private constructor(
    private readonly dataSource: DataSource,
    /** The database file. */
    readonly file: string,
  ) {
    super();
  }

  /** Opens (creating if needed) the database file and its folder. */
  static async open(file: string): Promise<SqliteNameDirectory> {
    mkdirSync(dirname(file), { recursive: true });
    const dataSource = new DataSource({
      type: "better-sqlite3",
      database: file,
      entities: [BindingEntity],
      synchronize: true,
      logging: false,
    });
    await dataSource.initialize();
    try {
      await dataSource.query("PRAGMA journal_mode=WAL");
      await dataSource.query("PRAGMA synchronous=FULL");
    } catch (err) {
      await dataSource.destroy();
      throw err;
    }
    log("opened %s", file);
    return new SqliteNameDirectory(dataSource, file);
  }

  protected transact<T>(fn: (rows: BindingRows) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager) => fn(new EntityRows(manager)));
  }

  protected async release(): Promise<void> {
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    log("closed %s", this.file);
  }
}

/** BindingRows over one transaction's EntityManager. */
class EntityRows implements BindingRows {
  constructor(private readonly manager: EntityManager) {}

  async get(path: string): Promise<Binding | null> {
    const row = await this.manager.findOneBy(BindingEntity, { path });
    return row ? toBinding(row) : null;
  }

  async put(binding: Binding): Promise<void> {
    await this.manager.upsert(BindingEntity, toRow(binding), ["path"]);
  }

  async remove(path: string): Promise<void> {
    await this.manager.delete(BindingEntity, { path });
  }

  async children(path: string): Promise<Binding[]> {
    return (await this.manager.findBy(BindingEntity, { parent: path })).map(toBinding);
  }

  async hasChildren(path: string): Promise<boolean> {
    return this.manager.existsBy(BindingEntity, { parent: path });
  }

  async descendants(path: string): Promise<Binding[]> {
    if (path === ROOT) return (await this.manager.find(BindingEntity)).map(toBinding);
    const rows = await this.manager
      .createQueryBuilder(BindingEntity, "b")
      .where("b.path > :low AND b.path < :high", { low: `${path}/`, high: `${path}0` })
      .getMany();
    return rows.map(toBinding);
  }
}

function toRow(binding: Binding): BindingEntity {
  const row = new BindingEntity();
  row.path = binding.path;
  row.parent = parentOf(binding.path) ?? ROOT;
  row.sysname = binding.sysname;
  row.kind = binding.kind;
  row.meta = JSON.stringify(binding.meta);
  row.updatedAt = binding.updatedAt;
  return row;
}

function toBinding(row: BindingEntity): Binding {
  return {
    path: row.path,
    sysname: row.sysname as SysName | null,
    kind: row.kind as BindingKind,
    meta: JSON.parse(row.meta) as Binding["meta"],
    updatedAt: Number(row.updatedAt),
  };
}
