/**
 * CloudsObject: the base class of every persistent object.
 *
 *   export class Rectangle extends CloudsObject {
 *     x = 0;                                   // persistent
 *     @entry area(): number { return this.x * this.y; }
 *   }
 *
 * The constructor runs once, when the object is created (shell `new`, `cluster.create`),
 * inside an isiba that has the new object's O space mapped. The base constructor returns
 * the object's InstanceProxy, so the subclass's field initializers and constructor body
 * write straight into object memory. Creating a CloudsObject with the `new` operator in
 * ordinary code is an error: objects are created by the system, which gives them sysnames.
 */
import { instanceProxy } from "./instance-proxy.js";
import type { PersistentStore } from "./persistent-store.js";

/** The store of the object whose constructor is about to run (set by the isiba). */
let constructing: PersistentStore | null = null;

/** Runs `create` (which calls the class's constructor) with `store` as the new object's memory. */
export function constructWith<T>(store: PersistentStore, create: () => T): T {
  constructing = store;
  try {
    return create();
  } finally {
    constructing = null;
  }
}

export abstract class CloudsObject {
  constructor() {
    const store = constructing;
    constructing = null;
    if (!store) {
      throw new TypeError(
        `${new.target.name} is a persistent class: create its objects with 'new ${new.target.name} Name' in the shell ` +
          `or cluster.create(), not with the new operator`,
      );
    }
    return instanceProxy(store, new.target.prototype);
  }
}
