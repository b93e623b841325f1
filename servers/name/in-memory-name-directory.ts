/**
 * InMemoryNameDirectory: a NameDirectory held in a Map, for unit tests and tools that need
 * no durability. It behaves exactly as SqliteNameDirectory (both extend TreeNameDirectory);
 * only the rows live in memory and vanish with the process.
 *
 * Atomicity: a transaction writes straight into the map and keeps an undo journal; if the
 * operation throws, the journal is replayed backwards. Bindings are copied in and out, so a
 * caller can never change stored state through an object it holds.
 */
import { isWithin, parentOf, type Binding } from "./name-directory.js";
import { TreeNameDirectory, type BindingRows } from "./tree-name-directory.js";

export class InMemoryNameDirectory extends TreeNameDirectory {
  /** path -> binding; written only inside `transact`, which runs one at a time. */
  private readonly bindings = new Map<string, Binding>();

  protected async transact<T>(fn: (rows: BindingRows) => Promise<T>): Promise<T> {
    const rows = new MapRows(this.bindings);
    try {
      return await fn(rows);
    } catch (err) {
      rows.rollback();
      throw err;
    }
  }

  protected async release(): Promise<void> {}
}

/** BindingRows over the map, with an undo journal for rollback. */
class MapRows implements BindingRows {
  private readonly undo: Array<() => void> = [];

  constructor(private readonly map: Map<string, Binding>) {}

  async get(path: string): Promise<Binding | null> {
    const b = this.map.get(path);
    return b ? structuredClone(b) : null;
  }

  async put(binding: Binding): Promise<void> {
    this.remember(binding.path);
    this.map.set(binding.path, structuredClone(binding));
  }

  async remove(path: string): Promise<void> {
    this.remember(path);
    this.map.delete(path);
  }

  async children(path: string): Promise<Binding[]> {
    return this.select((b) => parentOf(b.path) === path);
  }

  async hasChildren(path: string): Promise<boolean> {
    for (const b of this.map.values()) if (parentOf(b.path) === path) return true;
    return false;
  }

  async descendants(path: string): Promise<Binding[]> {
    return this.select((b) => b.path !== path && isWithin(b.path, path));
  }

  rollback(): void {
    for (const undo of this.undo.reverse()) undo();
    this.undo.length = 0;
  }

  private select(pred: (b: Binding) => boolean): Binding[] {
    return [...this.map.values()].filter(pred).map((b) => structuredClone(b));
  }

  private remember(path: string): void {
    const old = this.map.get(path);
    this.undo.push(old ? () => this.map.set(path, old) : () => this.map.delete(path));
  }
}
