/**
 * Remote<T>: the typed face of a persistent object seen from outside it.
 *
 *   const rect = await cluster.bind<Rectangle>("RectA");
 *   await rect.size(5, 10);          // type-checked against Rectangle.size
 *   const a = await rect.area();     // number
 *
 * Every method of T becomes an async invocation of the entry of that name; `at(server)`
 * gives the same reference with a location hint, `withDeadline(ms)` one whose invocations
 * are killed after `ms` (DeadlineExceededError). Non-entry methods type-check but are
 * refused by the compute server (UnknownEntryError). A Remote passed as an argument travels
 * as an object reference (`{ $ref }`): the method receives a callable Ref to it.
 */
import type { SysName } from "../../ra-kernel/ids.js";
import type { CloudsObject } from "../../objects/clouds-object.js";

/** T's own methods: the runtime's (lock, bind, self...) are not entries, and are left out first. */
type Methods<T> = { [K in keyof T as K extends keyof CloudsObject ? never : T[K] extends (...args: never[]) => unknown ? K : never]: T[K] };

export type Remote<T> = {
  [K in keyof Methods<T>]: Methods<T>[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
} & {
  readonly sysname: SysName;
  /** The same reference, invoked at compute server `server`. */
  at(server: string): Remote<T>;
  /** The same reference, its invocations killed if they last longer than `ms` (DeadlineExceededError; nested ones inherit what is left). */
  withDeadline(ms: number): Remote<T>;
};

/** How a reference's invocations run: a location hint, a deadline. */
export interface RefOptions {
  at?: string;
  deadlineMs?: number;
}

export type Invoker = (sysname: SysName, entry: string, args: unknown[], options: RefOptions) => Promise<unknown>;

/** What a Remote shows to `console.log` / inspect. */
export class RemoteRef {
  constructor(readonly sysname: SysName) {}
}

const remotes = new WeakMap<object, SysName>();

/** The sysname a Remote refers to, or undefined if `value` is not one (for encoding arguments). */
export function sysnameOfRemote(value: unknown): SysName | undefined {
  return typeof value === "object" && value !== null ? remotes.get(value) : undefined;
}

export function remoteRef<T>(sysname: SysName, invoke: Invoker, options: RefOptions = {}): Remote<T> {
  const cache = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const remote = new Proxy(new RemoteRef(sysname) as unknown as Remote<T>, {
    get(target, key) {
      if (key === "sysname") return sysname;
      if (key === "at") return (server: string) => remoteRef<T>(sysname, invoke, { ...options, at: server });
      if (key === "withDeadline") return (ms: number) => remoteRef<T>(sysname, invoke, { ...options, deadlineMs: checkDeadline(ms) });
      if (typeof key !== "string") return Reflect.get(target, key);
      if (key === "then" || key === "toJSON") return undefined;
      let fn = cache.get(key);
      if (!fn) cache.set(key, (fn = (...args: unknown[]) => invoke(sysname, key, args, options)));
      return fn;
    },
  });
  remotes.set(remote, sysname);
  return remote;
}

/** A deadline must be a positive number of milliseconds. */
export function checkDeadline(ms: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms <= 0) throw new RangeError(`a deadline must be a positive number of milliseconds, got ${String(ms)}`);
  return ms;
}
