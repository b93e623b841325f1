/**
 * Directory: an object that holds references to other objects, by name, in a Map field.
 *
 *   clouds> load objects/examples/directory.ts
 *   clouds> new Directory Shapes
 *   clouds> Shapes.add("a", RectA)           // a name of an object is passed as a reference
 *   clouds> Shapes.lookup("a")
 *   -> sys:ds1:...
 *   clouds> Shapes.list()
 *   [ 'a' ]
 *
 * References are stored as references (their sysnames), not copies of the objects: what
 * `lookup` returns is invocable by the caller (`(await dir.lookup("a")).area()`), wherever
 * it runs. `call(name, entry)` shows the same from inside a method, as a nested invocation
 * (`Shapes.call("a", "area")` -> 50).
 */
import { CloudsObject, entry, type Ref } from "clouds-ts";

export class Directory extends CloudsObject {
  entries = new Map<string, Ref<CloudsObject>>();

  /** Binds `name` to `ref` (replacing an earlier one); how many entries there are. */
  @entry add(name: string, ref: Ref<CloudsObject>): number {
    if (typeof ref !== "object" || ref === null || typeof ref.sysname !== "string") {
      throw new TypeError(`add(${JSON.stringify(name)}): not an object reference`);
    }
    this.entries.set(name, ref);
    return this.entries.size;
  }

  /** The reference bound to `name`, or undefined. */
  @entry lookup(name: string): Ref<CloudsObject> | undefined {
    return this.entries.get(name);
  }

  @entry remove(name: string): boolean {
    return this.entries.delete(name);
  }

  /** The names, sorted. */
  @entry list(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** Invokes `entryName()` on the object bound to `name` (a nested invocation) and returns its value. */
  @entry async call(name: string, entryName: string): Promise<unknown> {
    const ref = this.entries.get(name);
    if (!ref) throw new RangeError(`no entry ${JSON.stringify(name)}`);
    return (ref as unknown as Record<string, () => Promise<unknown>>)[entryName]();
  }
}
