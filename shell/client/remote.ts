/**
 * Remote<T>: the typed face of a persistent object seen from outside it.
 *
 *   const rect = await cluster.bind<Rectangle>("RectA");
 *   await rect.size(5, 10);          // type-checked against Rectangle.size
 *   const a = await rect.area();     // number
 *
 * Every method of T becomes an async invocation of the entry of that name; `at(server)`
 * gives the same reference with a location hint. Non-entry methods type-check but are
 * refused by the compute server (UnknownEntryError).
 */
import type { SysName } from "../../ra-kernel/ids.js";

type Methods<T> = { [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] };

export type Remote<T> = {
  [K in keyof Methods<T>]: Methods<T>[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
} & {
  readonly sysname: SysName;
  /** The same reference, invoked at compute server `server`. */
  at(server: string): Remote<T>;
};

export type Invoker = (sysname: SysName, entry: string, args: unknown[], at?: string) => Promise<unknown>;

export function remoteRef<T>(sysname: SysName, invoke: Invoker, at?: string): Remote<T> {
  const cache = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy({} as Remote<T>, {
    get(_target, key) {
      if (key === "sysname") return sysname;
      if (key === "at") return (server: string) => remoteRef<T>(sysname, invoke, server);
      if (typeof key !== "string" || key === "then") return undefined;
      let fn = cache.get(key);
      if (!fn) cache.set(key, (fn = (...args: unknown[]) => invoke(sysname, key, args, at)));
      return fn;
    },
  });
}
