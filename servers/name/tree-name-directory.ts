/**
 * TreeNameDirectory: the semantics of a NameDirectory written once, over a small row store.
 *
 * SqliteNameDirectory and InMemoryNameDirectory differ only in where rows live; both extend
 * this class and supply `transact` (run a function over BindingRows atomically) and
 * `release`. Everything a client can observe — path rules, implicit parent directories,
 * refusals, ordering, change events — is decided here, so the two behave identically.
 *
 * Rows: one per bound path, including every parent directory `bind` created; the root is
 * never stored. A row's parent always exists as a directory row (or is the root).
 *
 * Rules:
 * - Operations run one at a time, in call order (`serialize`). The store sees at most one
 *   transaction at a time; TypeORM's sqlite drivers share a single connection and would
 *   otherwise nest concurrent transactions as savepoints of one another.
 * - A mutation either commits all its rows or none; its changes are emitted only after the
 *   commit, in the order they were made. A listener that throws is logged and ignored.
 * - Arguments are checked at once: a bad path is a BadPathError; a kind or sysname that
 *   breaks the contract (callers validate first) is a TypeError.
 */
import createDebug from "debug";
import { isSysName, type SysName } from "../../ra-kernel/ids.js";
import {
  ancestorsOf,
  baseName,
  BINDING_KINDS,
  isWithin,
  normalizePath,
  ROOT,
  rootBinding,
  type BindOptions,
  type Binding,
  type BindingChange,
  type BindingKind,
  type BindingMeta,
  type ChangeListener,
  type NameDirectory,
  type RenameOptions,
} from "./name-directory.js";
import { BadPathError, DirectoryNotEmptyError, NameExistsError, NameNotFoundError, NotADirectoryError } from "./errors.js";

const log = createDebug("servers:name");

/** Row access inside one transaction. Paths are normalized; bindings are copies. */
export interface BindingRows {
  get(path: string): Promise<Binding | null>;
  /** Inserts or overwrites the row at `binding.path`. */
  put(binding: Binding): Promise<void>;
  remove(path: string): Promise<void>;
  /** Direct children, in any order. */
  children(path: string): Promise<Binding[]>;
  hasChildren(path: string): Promise<boolean>;
  /** Every row strictly below `path`, in any order. */
  descendants(path: string): Promise<Binding[]>;
}

export abstract class TreeNameDirectory implements NameDirectory {
  private readonly listeners = new Set<ChangeListener>();
  /** The last queued operation; each new one starts after it settles. */
  private tail: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | null = null;

  /** Runs `fn` atomically: if it throws, none of its writes remain. */
  protected abstract transact<T>(fn: (rows: BindingRows) => Promise<T>): Promise<T>;
  /** Releases the store; called once, after every queued operation settled. */
  protected abstract release(): Promise<void>;
  /**
   * Resolves once every operation run so far is durable (a store that commits operations in
   * batches: SqliteNameDirectory). Operations reply, and mutations emit, only after it.
   */
  protected durable(): Promise<void> {
    return Promise.resolve();
  }
  /** Runs a read-only `fn`; by default as a transaction (a store may skip it when it can). */
  protected transactRead<T>(fn: (rows: BindingRows) => Promise<T>): Promise<T> {
    return this.transact(fn);
  }

  async bind(path: string, sysname: SysName | null, kind: BindingKind, options: BindOptions = {}): Promise<Binding> {
    const p = normalizePath(path);
    checkBindingArgs(sysname, kind);
    const meta = copyMeta(options.meta ?? {});
    return this.mutate((tx) => tx.bind(p, sysname, kind, meta, options.replace === true));
  }

  async lookup(path: string): Promise<Binding | null> {
    const p = normalizePath(path);
    if (p === ROOT) return rootBinding();
    return this.read((rows) => rows.get(p));
  }

  async unbind(path: string): Promise<boolean> {
    const p = normalizePath(path);
    return this.mutate((tx) => tx.unbind(p));
  }

  async rename(from: string, to: string, options: RenameOptions = {}): Promise<Binding> {
    const src = normalizePath(from);
    const dst = normalizePath(to);
    return this.mutate((tx) => tx.rename(src, dst, options.replace === true));
  }

  async list(path: string): Promise<Binding[]> {
    const p = normalizePath(path);
    return this.read(async (rows) => {
      const self = p === ROOT ? rootBinding() : await rows.get(p);
      if (!self) throw new NameNotFoundError(`no such name: ${p}`, { path: p });
      if (self.kind !== "directory") return [self];
      return sortByName(await rows.children(p));
    });
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): Promise<void> {
    this.closing ??= this.tail.then(() => this.release());
    return this.closing;
  }

  /** A read sees what earlier mutations wrote: it answers once that is durable too. */
  private async read<T>(fn: (rows: BindingRows) => Promise<T>): Promise<T> {
    const { result, durable } = await this.serialize(async () => ({ result: await this.transactRead(fn), durable: this.durable() }));
    await durable;
    return result;
  }

  private async mutate<T>(fn: (tx: TreeTransaction) => Promise<T>): Promise<T> {
    const changes: BindingChange[] = [];
    const { result, durable } = await this.serialize(async () => {
      try {
        return { result: await this.transact((rows) => fn(new TreeTransaction(rows, changes))), durable: this.durable() };
      } catch (err) {
        changes.length = 0;
        throw err;
      }
    });
    await durable;
    this.emit(changes);
    return result;
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error("name directory is closed"));
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private emit(changes: BindingChange[]): void {
    for (const change of changes) {
      log("changed %s -> %s", change.path, change.binding?.kind ?? "(removed)");
      for (const listener of this.listeners) {
        try {
          listener(change);
        } catch (err) {
          log("change listener failed: %O", err);
        }
      }
    }
  }
}

/** The operations of one transaction; records every change it makes. */
class TreeTransaction {
  private readonly now = Date.now();

  constructor(
    private readonly rows: BindingRows,
    private readonly changes: BindingChange[],
  ) {}

  async bind(path: string, sysname: SysName | null, kind: BindingKind, meta: BindingMeta, replace: boolean): Promise<Binding> {
    if (path === ROOT) refuseRoot("bound");
    await this.mkdirs(path);
    const old = await this.rows.get(path);
    if (old) await this.checkOverwrite(old, replace, kind === "directory");
    return this.put({ path, sysname, kind, meta, updatedAt: this.now });
  }

  async unbind(path: string): Promise<boolean> {
    if (path === ROOT) refuseRoot("unbound");
    if (!(await this.rows.get(path))) return false;
    if (await this.rows.hasChildren(path)) throw notEmpty(path);
    await this.remove(path);
    return true;
  }

  async rename(from: string, to: string, replace: boolean): Promise<Binding> {
    if (from === ROOT || to === ROOT) refuseRoot("renamed");
    if (to !== from && isWithin(to, from)) badPath(to, `cannot move ${from} below itself`);
    const source = await this.rows.get(from);
    if (!source) throw new NameNotFoundError(`no such name: ${from}`, { path: from });
    if (to === from) return source;
    await this.mkdirs(to);
    const target = await this.rows.get(to);
    if (target) await this.checkOverwrite(target, replace, false);
    return this.move(source, to);
  }

  /** Moves `source` and its subtree to `to`: old paths are removed, then new ones written. */
  private async move(source: Binding, to: string): Promise<Binding> {
    const below = await this.rows.descendants(source.path);
    for (const b of [source, ...below]) await this.remove(b.path);
    const moved = await this.put({ ...source, path: to, updatedAt: this.now });
    for (const b of sortByPath(below)) {
      await this.put({ ...b, path: to + b.path.slice(source.path.length), updatedAt: this.now });
    }
    return moved;
  }

  /** Creates missing ancestors of `path` as directories (mkdir -p). */
  private async mkdirs(path: string): Promise<void> {
    for (const dir of ancestorsOf(path)) {
      const row = await this.rows.get(dir);
      if (!row) await this.put({ path: dir, sysname: null, kind: "directory", meta: {}, updatedAt: this.now });
      else if (row.kind !== "directory") throw new NotADirectoryError(`not a directory: ${dir}`, { path: dir });
    }
  }

  /**
   * Refuses to overwrite without `replace`, and never orphans children: only a directory
   * bound over a directory (`keepsChildren`) may replace one that has children.
   */
  private async checkOverwrite(old: Binding, replace: boolean, keepsChildren: boolean): Promise<void> {
    if (!replace) throw new NameExistsError(`name exists: ${old.path}`, { path: old.path });
    if (!keepsChildren && (await this.rows.hasChildren(old.path))) throw notEmpty(old.path);
  }

  private async put(binding: Binding): Promise<Binding> {
    await this.rows.put(binding);
    this.changes.push({ path: binding.path, binding });
    return binding;
  }

  private async remove(path: string): Promise<void> {
    await this.rows.remove(path);
    this.changes.push({ path, binding: null });
  }
}

function checkBindingArgs(sysname: SysName | null, kind: BindingKind): void {
  if (!BINDING_KINDS.includes(kind)) throw new TypeError(`not a binding kind: ${JSON.stringify(kind)}`);
  if (sysname !== null && !isSysName(sysname)) throw new TypeError(`not a sysname: ${JSON.stringify(sysname)}`);
  if (sysname === null && (kind === "object" || kind === "class")) {
    throw new TypeError(`a binding of kind ${kind} needs a sysname`);
  }
}

/** A detached, JSON-safe copy: what is stored is exactly what a later lookup returns. */
function copyMeta(meta: BindingMeta): BindingMeta {
  const copy: unknown = JSON.parse(JSON.stringify(meta));
  if (typeof copy !== "object" || copy === null || Array.isArray(copy)) throw new TypeError("meta must be an object");
  return copy as BindingMeta;
}

function sortByName(bindings: Binding[]): Binding[] {
  return bindings.sort((a, b) => compare(baseName(a.path), baseName(b.path)));
}

function sortByPath(bindings: Binding[]): Binding[] {
  return bindings.sort((a, b) => compare(a.path, b.path));
}

/** Code-unit order, the same as SQLite's BINARY collation for these ASCII names. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function notEmpty(path: string): DirectoryNotEmptyError {
  return new DirectoryNotEmptyError(`directory not empty: ${path}`, { path });
}

function refuseRoot(what: string): never {
  badPath(ROOT, `the root cannot be ${what}`);
}

function badPath(path: string, reason: string): never {
  throw new BadPathError(`bad path ${JSON.stringify(path)}: ${reason}`, { path, reason });
}
