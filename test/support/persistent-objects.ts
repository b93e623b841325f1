/**
 * Persistent objects in one thread, the way an isiba makes them (ra-kernel/isiba-worker.ts):
 * a fixture class compiled by the class compiler, evaluated in a context of its own, and
 * constructed with constructWith over a PersistentStore; later calls go through a fresh
 * instanceProxy over the same store.
 */
import { evaluate, type PersistentClass } from "../../ra-kernel/class-loader.js";
import { constructWith } from "../../objects/clouds-object.js";
import { instanceProxy } from "../../objects/instance-proxy.js";
import type { PersistentStore } from "../../objects/persistent-store.js";
import { compileExample } from "./compiled-examples.js";

/** Anything goes on `this` of a persistent object, as seen from a test. */
export type Self = Record<string | symbol, any>;

/** The class `name` of a fixture file under test/fixtures/, evaluated like an isiba would. */
export async function fixtureClass(file: string, name: string): Promise<PersistentClass> {
  const compiled = (await compileExample(`test/fixtures/${file}`)).find((c) => c.name === name);
  if (!compiled) throw new Error(`test/fixtures/${file} has no class ${name}`);
  return evaluate(name, `${name}@test`, compiled.code);
}

/** Runs the constructor into `store` (op "create"); returns what the constructor returned. */
export function createIn(store: PersistentStore, cls: PersistentClass, args: unknown[] = []): Self {
  return constructWith(store, () => Reflect.construct(cls, args)) as Self;
}

/** `this` for a later call on the object in `store` (op "call"). */
export function selfOf(store: PersistentStore, cls: PersistentClass): Self {
  return instanceProxy<Self>(store, cls.prototype);
}
