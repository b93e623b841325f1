/**
 * CloudsError: the one base class for errors that cross processes.
 *
 * An error thrown in one process (an object's method on a compute server, a data server
 * refusing a request) travels as a WireError: its class name, message, readonly fields,
 * the stack where it was thrown and the server it came from. The receiving side rebuilds
 * the same named subclass (registered with `registerError`), so callers can use
 * `instanceof` across the wire. Unknown names become a RemoteError that keeps the name.
 *
 * Subclasses live in each folder's errors.ts, declare their fields with `declare readonly`
 * (a plain field declaration would reset them to undefined after the base constructor
 * assigned them), list them in `static fieldNames`, and are registered once at module load.
 */
export interface WireError {
  name: string;
  message: string;
  /** The stack in the process where it was first thrown. */
  stack?: string;
  /** The server (id) where it was first thrown. */
  server?: string;
  /** The subclass's own readonly fields (sysname, entry, ...), JSON-safe. */
  fields?: Record<string, unknown>;
}

type ErrorClass = new (message: string, fields?: Record<string, unknown>) => CloudsError;

const registry = new Map<string, ErrorClass>();

export class CloudsError extends Error {
  /** Where the error was first thrown (set when it leaves a server). */
  server?: string;
  /** The stack of the process where it was thrown, when rebuilt from the wire. */
  remoteStack?: string;

  constructor(message: string, fields?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    if (fields) Object.assign(this, fields);
  }

  /** The subclass's own fields, for the wire. Subclasses list them in `fieldNames`. */
  wireFields(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of (this.constructor as typeof CloudsError).fieldNames) {
      out[key] = (this as unknown as Record<string, unknown>)[key];
    }
    return out;
  }

  static fieldNames: readonly string[] = [];
}

/**
 * Thrown (rebuilt) when a remote error's class is not known in this process. Its `name` is
 * the original class name; it keeps the original fields (`remoteFields`), so relaying it
 * again (a nested invocation's error going up the chain) loses nothing.
 */
export class RemoteError extends CloudsError {
  declare readonly remoteName: string;
  /** The fields the original error carried on the wire. */
  declare readonly remoteFields: Record<string, unknown>;
  static override fieldNames = ["remoteName"];

  override wireFields(): Record<string, unknown> {
    return { ...(this.remoteFields ?? {}) };
  }
}

export function registerError(cls: ErrorClass & { name: string }): void {
  registry.set(cls.name, cls);
}

/** Every registered error class (the isiba worker freezes them: object code may catch any). */
export function errorClasses(): ErrorClass[] {
  return [...registry.values()];
}
registerError(CloudsError);
registerError(RemoteError);

/**
 * Any thrown value as a WireError; `server` is stamped if the error has none yet. Never
 * throws: object code may throw a Proxy whose traps throw, or an object whose `message`
 * getter does, and its caller must still get an answer.
 */
export function toWireError(err: unknown, server?: string): WireError {
  try {
    return wireErrorOf(err, server);
  } catch (unreadable) {
    return { name: "Error", message: `the code threw a value that cannot be read (reading it threw ${describeSafely(unreadable)})`, server };
  }
}

/** What a value is, without running any of its code beyond one guarded String(). */
function describeSafely(value: unknown): string {
  try {
    const text = typeof value === "object" && value !== null ? String((value as Error).message) : String(value);
    return JSON.stringify(text.slice(0, 200));
  } catch {
    return "a value that cannot be read either";
  }
}

function wireErrorOf(err: unknown, server?: string): WireError {
  if (err instanceof CloudsError) {
    return {
      name: err.name,
      message: err.message,
      stack: err.remoteStack ?? err.stack,
      server: err.server ?? server,
      fields: err.wireFields(),
    };
  }
  if (isErrorLike(err)) {
    const stack: unknown = err.stack;
    return { name: classNameOf(err), message: err.message, stack: typeof stack === "string" ? stack : undefined, server };
  }
  return { name: "Error", message: String(err), server };
}

/** An Error from any realm (the compiler and unit tests evaluate classes in a vm context: not `instanceof Error`). */
function isErrorLike(err: unknown): err is Error {
  if (err instanceof Error) return true;
  return typeof err === "object" && err !== null && typeof (err as Error).message === "string" && typeof (err as Error).name === "string";
}

/** `class Overdraft extends Error {}` keeps name "Error": the class name says more. */
function classNameOf(err: Error): string {
  const ctor = (err as { constructor?: { name?: unknown } }).constructor?.name;
  return err.name === "Error" && typeof ctor === "string" && ctor !== "" && ctor !== "Object" ? ctor : err.name;
}

/** Rebuilds the named subclass; the local stack is replaced by the remote one. */
export function fromWireError(wire: WireError): CloudsError {
  const cls = registry.get(wire.name);
  const err = cls
    ? new cls(wire.message, wire.fields)
    : new RemoteError(wire.message, { ...wire.fields, remoteName: wire.name, remoteFields: { ...wire.fields } });
  if (!cls) err.name = wire.name;
  err.server = wire.server;
  err.remoteStack = wire.stack;
  return err;
}

/** True when a value has the shape of a WireError (used when decoding replies). */
export function isWireError(value: unknown): value is WireError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === "string" && typeof v.message === "string";
}
