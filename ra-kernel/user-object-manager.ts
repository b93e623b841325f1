/**
 * UserObjectManager: turns an invocation into an isiba running in the right O space.
 *
 * On an object's first invocation here it fetches the object's descriptor and its class's
 * code segment (both immutable, so cached for good), builds the O space (code, data, heap,
 * volatile regions over the DsmClient's frames) and finds the entry point. Each invocation
 * is checked against the entry's signature before any object code runs, executed by an
 * isiba, and its dirty pages are written back to the homes before the result is returned —
 * also when the entry threw (its writes before the throw are kept, as documented).
 *
 * Synchronization (LockManager): an `exclusive` entry holds its object's monitor at the
 * home from before its isiba starts until its dirty pages were written back, so the next
 * holder sees its writes. After every invocation (returned or thrown) the locks its isiba
 * still holds are released, also after the write-back.
 */
import { argumentProblem } from "../objects/entry-signature.js";
import { ArgumentError, UnknownEntryError } from "./errors.js";
import type { SysName, ThreadId } from "./ids.js";
import { classKey, type ClassSegment, type ObjectDescriptor } from "./object-descriptor.js";
import { Segment } from "./segment.js";
import { VirtualSpace } from "./virtual-space.js";
import type { DsmClient } from "./dsm-client.js";
import type { IsibaPool, RunFailure, RunOutcome } from "./isiba-pool.js";
import { LockManager } from "./lock-manager.js";
import type { DirtyPages } from "./isiba-messages.js";

/** Where descriptors and class code come from (the homes, through the compute server). */
export interface ObjectSource {
  descriptor(sysname: SysName): Promise<ObjectDescriptor>;
  /** The given version of a class, or the latest when `version` is omitted. */
  classSegment(name: string, version?: number): Promise<ClassSegment>;
}

export interface InvocationInput {
  object: SysName;
  entry: string;
  args: unknown[];
  thread: { id: ThreadId; depth: number };
}

interface LoadedObject {
  descriptor: ObjectDescriptor;
  klass: ClassSegment;
  space: VirtualSpace;
}

export class UserObjectManager {
  private readonly objects = new Map<SysName, Promise<LoadedObject>>();
  private readonly classes = new Map<string, Promise<ClassSegment>>();

  constructor(
    private readonly pool: IsibaPool,
    private readonly dsm: DsmClient,
    private readonly source: ObjectSource,
    /** Arbitrates exclusive entries and releases what invocations leave held. @default no homes: exclusive entries fail */
    private readonly locks: LockManager = new LockManager(),
  ) {}

  /** Objects whose O space is built here (their working set may be warm). */
  loadedObjects(): SysName[] {
    return [...this.objects.keys()];
  }

  async invoke(input: InvocationInput): Promise<unknown> {
    const obj = await this.load(input.object);
    const sig = obj.klass.entries.find((e) => e.name === input.entry);
    const className = obj.klass.name;
    if (!sig) {
      const known = obj.klass.entries.map((e) => e.name).join(", ") || "none";
      throw new UnknownEntryError(`${className} has no entry '${input.entry}' (entries: ${known})`, { className, entry: input.entry });
    }
    const problem = argumentProblem(sig, input.args);
    if (problem) throw new ArgumentError(`${className}.${problem}`, { className, entry: input.entry });
    return this.execute(obj, "call", input, sig.exclusive);
  }

  /** Runs the constructor of a freshly created object. */
  async construct(descriptor: ObjectDescriptor, args: unknown[], thread: InvocationInput["thread"]): Promise<void> {
    const built = this.build(descriptor);
    built.catch(() => this.objects.delete(descriptor.sysname));
    this.objects.set(descriptor.sysname, built);
    const obj = await this.load(descriptor.sysname);
    await this.execute(obj, "create", { object: descriptor.sysname, entry: "constructor", args, thread });
  }

  private async execute(obj: LoadedObject, op: "create" | "call", input: InvocationInput, exclusive = false): Promise<unknown> {
    if (!exclusive) return this.run(obj, op, input);
    return this.locks.withMonitor(input.object, input.thread.id, () => this.run(obj, op, input));
  }

  /** Runs the isiba, writes its dirty pages back, then releases the locks it left held. */
  private async run(obj: LoadedObject, op: "create" | "call", input: InvocationInput): Promise<unknown> {
    let outcome: RunOutcome;
    const since = this.dsm.dropMark;
    try {
      outcome = await this.pool.run({
        op, object: input.object, entry: input.entry, args: input.args, thread: input.thread,
        klass: { key: classKey(obj.klass.name, obj.klass.version), name: obj.klass.name, code: obj.klass.code },
        data: this.dsm.framesOf(obj.space.region("data").segment, input.object),
        heap: this.dsm.framesOf(obj.space.region("heap").segment, input.object),
      });
    } catch (err) {
      try {
        await this.dsm.writeBack((err as { dirty?: DirtyPages[] }).dirty ?? [], since);
      } finally {
        await this.locks.releaseAll((err as Partial<RunFailure>).isiba ?? -1);
      }
      throw err;
    }
    try {
      await this.dsm.writeBack(outcome.dirty, since);
    } finally {
      await this.locks.releaseAll(outcome.isiba);
    }
    return outcome.value;
  }

  private load(sysname: SysName): Promise<LoadedObject> {
    let p = this.objects.get(sysname);
    if (!p) {
      p = this.source.descriptor(sysname).then((d) => this.build(d));
      p.catch(() => this.objects.delete(sysname));
      this.objects.set(sysname, p);
    }
    return p;
  }

  private async build(descriptor: ObjectDescriptor): Promise<LoadedObject> {
    const klass = await this.classOf(descriptor.className, descriptor.classVersion);
    const space = new VirtualSpace("O", [
      { name: "code", segment: new Segment(klass.sysname, "code"), protection: "rx" },
      { name: "data", segment: new Segment(descriptor.segments.data, "data"), protection: "rw" },
      { name: "heap", segment: new Segment(descriptor.segments.heap, "heap"), protection: "rw" },
      { name: "volatile", segment: new Segment(descriptor.segments.volatile, "volatile"), protection: "rw" },
    ]);
    return { descriptor, klass, space };
  }

  private classOf(name: string, version: number): Promise<ClassSegment> {
    const key = classKey(name, version);
    let p = this.classes.get(key);
    if (!p) {
      p = this.source.classSegment(name, version);
      p.catch(() => this.classes.delete(key));
      this.classes.set(key, p);
    }
    return p;
  }
}
