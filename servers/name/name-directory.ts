/**
 * NameDirectory: the contract of the name server's store — hierarchical paths bound to
 * sysnames — and the path rules every implementation and client shares.
 *
 * Paths are absolute, `/`-separated, like a file system: `/users/ana/RectA`. A plain
 * `RectA` means `/RectA`; repeated slashes collapse and one trailing slash is ignored.
 * Components use only [A-Za-z0-9_.-], `.` and `..` are refused (only `joinPath`, which the
 * shell uses to resolve relative paths against a cwd, gives them meaning), and a normalized
 * path is at most 1024 characters. Anything else is a BadPathError.
 *
 * Semantics (identical in SqliteNameDirectory and InMemoryNameDirectory):
 * - The root `/` always exists as a directory and can be neither bound, unbound nor renamed.
 * - `bind` creates missing parent directories (mkdir -p); a parent that is bound to anything
 *   but a directory is a NotADirectoryError. An existing name is a NameExistsError unless
 *   `replace`; replacing a directory that has children by a non-directory is refused.
 * - `lookup` of a missing name is null, a value, not an error.
 * - `unbind` returns false for a missing name; a directory with children is refused.
 * - `rename` moves a whole subtree; it never overwrites unless `replace`, and never a
 *   directory that has children.
 * - `list` gives the direct children sorted by name; listing an object gives just it.
 * - Every mutation is atomic: when it throws, nothing it touched has changed. Each committed
 *   change is reported once to the `onChange` listeners, in commit order.
 */
import type { SysName } from "../../ra-kernel/ids.js";
import { BadPathError } from "./errors.js";

export type BindingKind = "object" | "class" | "server" | "directory";
export const BINDING_KINDS: readonly BindingKind[] = ["object", "class", "server", "directory"];

/** Free-form, JSON-safe data stored with a binding (a server's address, a class version...). */
export type BindingMeta = Record<string, unknown>;

export interface Binding {
  /** Normalized absolute path. */
  path: string;
  /** Null for directories and server bindings; required for objects and classes. */
  sysname: SysName | null;
  kind: BindingKind;
  meta: BindingMeta;
  /** Milliseconds since the epoch of the last bind or rename that touched this path. */
  updatedAt: number;
}

export interface BindOptions {
  /** @default {} */
  meta?: BindingMeta;
  /** Overwrite an existing binding. @default false */
  replace?: boolean;
}

export interface RenameOptions {
  /** Overwrite an existing binding (not a directory with children). @default false */
  replace?: boolean;
}

/** One committed change: the path's new binding, or null when it no longer exists. */
export interface BindingChange {
  path: string;
  binding: Binding | null;
}

export type ChangeListener = (change: BindingChange) => void;

export interface NameDirectory {
  bind(path: string, sysname: SysName | null, kind: BindingKind, options?: BindOptions): Promise<Binding>;
  lookup(path: string): Promise<Binding | null>;
  /** True when something was removed. */
  unbind(path: string): Promise<boolean>;
  /** The binding now at `to`. */
  rename(from: string, to: string, options?: RenameOptions): Promise<Binding>;
  list(path: string): Promise<Binding[]>;
  /** Called after each committed change; returns the function that unsubscribes. */
  onChange(listener: ChangeListener): () => void;
  /** Waits for operations under way, then releases the store. Idempotent. */
  close(): Promise<void>;
}

export const ROOT = "/";
export const MAX_PATH_LENGTH = 1024;
const COMPONENT_RE = /^[A-Za-z0-9_.-]+$/;

/** The root, which always exists and is never stored. */
export function rootBinding(): Binding {
  return { path: ROOT, sysname: null, kind: "directory", meta: {}, updatedAt: 0 };
}

/** The canonical form of an absolute (or plain, root-relative) path; BadPathError if invalid. */
export function normalizePath(raw: string): string {
  if (typeof raw !== "string") badPath(String(raw), "a path must be a string");
  if (raw.length === 0) badPath(raw, "the path is empty");
  if (raw.length > MAX_PATH_LENGTH * 4) badPath(raw, `the path is longer than ${MAX_PATH_LENGTH} characters`);
  const parts = rawComponents(raw);
  for (const part of parts) checkComponent(raw, part);
  return checkLength(raw, ROOT + parts.join("/"));
}

/** The components of a path: `/a//b/` -> ["a", "b"]; "" stays only for a real empty part. */
function rawComponents(raw: string): string[] {
  const parts = raw.split(/\/+/);
  if (parts[0] === "") parts.shift();
  if (parts[parts.length - 1] === "") parts.pop();
  return parts;
}

function checkComponent(raw: string, part: string): void {
  if (part === "") badPath(raw, "empty path component");
  if (part === "." || part === "..") badPath(raw, `'${part}' is not allowed in a name path`);
  if (!COMPONENT_RE.test(part)) badPath(raw, `component '${part.slice(0, 64)}' has characters outside [A-Za-z0-9_.-]`);
}

function checkLength(raw: string, path: string): string {
  if (path.length > MAX_PATH_LENGTH) badPath(raw, `the path is longer than ${MAX_PATH_LENGTH} characters`);
  return path;
}

function badPath(raw: string, reason: string): never {
  const path = raw.length > 200 ? `${raw.slice(0, 200)}...` : raw;
  throw new BadPathError(`bad path ${JSON.stringify(path)}: ${reason}`, { path, reason });
}

/**
 * Resolves `rel` against the directory `cwd` (the shell's `cd`): `.` stays, `..` goes up
 * (never above the root), an absolute `rel` ignores cwd. The result is normalized.
 */
export function joinPath(cwd: string, rel: string): string {
  const parts = rel.startsWith("/") ? [] : rawComponents(normalizePath(cwd));
  for (const part of rawComponents(rel)) {
    if (part === ".") continue;
    if (part === "..") parts.pop();
    else {
      checkComponent(rel, part);
      parts.push(part);
    }
  }
  return checkLength(rel, ROOT + parts.join("/"));
}

/** The directory holding `path`; null for the root. */
export function parentOf(path: string): string | null {
  const p = normalizePath(path);
  if (p === ROOT) return null;
  const cut = p.lastIndexOf("/");
  return cut === 0 ? ROOT : p.slice(0, cut);
}

/** The last component (`/a/b` -> `b`); "" for the root. */
export function baseName(path: string): string {
  const p = normalizePath(path);
  return p.slice(p.lastIndexOf("/") + 1);
}

/** The ancestors between the root and `path`, outermost first: `/a/b/c` -> [`/a`, `/a/b`]. */
export function ancestorsOf(path: string): string[] {
  const parts = rawComponents(normalizePath(path));
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(ROOT + parts.slice(0, i).join("/"));
  return out;
}

/** True when normalized `path` is `prefix` or lies below it. */
export function isWithin(path: string, prefix: string): boolean {
  return prefix === ROOT || path === prefix || path.startsWith(`${prefix}/`);
}
