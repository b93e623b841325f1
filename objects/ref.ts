/**
 * Ref<T>: a callable reference to another persistent object, inside object code.
 *
 *   const b = await this.bind<Bank>("Bank");        // by name
 *   await b.deposit(10);                            // a nested invocation, type-checked
 *   this.peer = b;                                  // stored in a field (by sysname)
 *   await this.peer.at("cs2").ping();               // run it at compute server cs2
 *
 * Every method of T (but the runtime's own: lock, bind, print...) becomes an async
 * invocation of the entry of that name on the CALLING invocation's thread: same thread id,
 * depth + 1, at the local compute server unless `at(server)` says otherwise. Arguments are
 * copied; references inside them stay references. The caller's invocation is found when
 * the call is made (currentInvocation), else the one the reference was made in: so a
 * reference read from a field, passed as an argument or kept across invocations works.
 *
 * Rules: a reference is a value (compare `ref.sysname`, not the references); it is made only
 * by the runtime (`refTo`, `this.bind`, `this.self`), never with `new`.
 */
import type { SysName } from "../ra-kernel/ids.js";
import type { CloudsObject } from "./clouds-object.js";
import { OutsideInvocationError } from "./errors.js";
import { currentInvocation, type InvocationContext } from "./invocation-context.js";
import { markRef, refTo } from "./object-ref.js";
import { decodeRefs, encodeArgs } from "./ref-codec.js";
import { toPlain } from "./to-plain.js";

/** T's own methods: the runtime's (lock, bind, self...) are not entries, and are left out first. */
type Methods<T> = { [K in keyof T as K extends keyof CloudsObject ? never : T[K] extends (...args: never[]) => unknown ? K : never]: T[K] };

export type Ref<T> = {
  [K in keyof Methods<T>]: Methods<T>[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
} & {
  readonly sysname: SysName;
  /** The same reference, invoked at compute server `server`. */
  at(server: string): Ref<T>;
};

/** What a reference shows to `console.log` / inspect: its sysname (and hint). */
export class ObjectRef {
  constructor(readonly sysname: SysName, readonly at?: string) {}
}

const NOT_ENTRIES = new Set(["then", "toJSON", "constructor", "valueOf", "toString", "inspect"]);

/** The callable reference to `sysname` (made in invocation `made`, if any). */
export function makeRef<T>(sysname: SysName, made: InvocationContext | undefined, at?: string): Ref<T> {
  const entries = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const ref = new Proxy(new ObjectRef(sysname, at), {
    get(target, key) {
      if (key === "sysname") return sysname;
      if (key === "at") return (server: string) => markRef(makeRef<T>(sysname, made, server), sysname);
      if (typeof key !== "string" || NOT_ENTRIES.has(key)) return key === "then" ? undefined : Reflect.get(target, key);
      let fn = entries.get(key);
      if (!fn) entries.set(key, (fn = (...args: unknown[]) => invokeRef(made, sysname, key, args, at)));
      return fn;
    },
    set: () => {
      throw new TypeError(`a reference to ${sysname} is a value: it has no fields to assign`);
    },
  });
  return ref as unknown as Ref<T>;
}

async function invokeRef(made: InvocationContext | undefined, target: SysName, entry: string, args: unknown[], at?: string): Promise<unknown> {
  const ctx = currentInvocation() ?? made;
  if (!ctx) {
    throw new OutsideInvocationError(`${entry}() on a reference needs a running invocation: call it inside a method of a persistent object`, { method: entry });
  }
  // Views read from fields (arrays, Maps, bytes, Dates...) are copied: arguments are values.
  const reply = await ctx.syscall("object.invoke", { target, entry, args: encodeArgs(toPlain(args) as unknown[]), at });
  return decodeRefs(reply.value, refTo);
}
