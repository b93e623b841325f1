/**
 * FakeCluster: the part of the workstation Cluster (shell/client/cluster.ts) that a
 * ShellSession calls, in memory, for shell unit tests.
 *
 * Bindings live in a Map by normalized path (the root is always a directory). Invocations
 * are answered by `onInvoke` (undefined unless set); loads by `loadResults`. Every call is
 * recorded in `calls` so a test can check what the session asked for — and that it asked
 * for nothing when a line is refused. `asCluster()` gives it the Cluster type.
 */
import type { SysName } from "../../ra-kernel/ids.js";
import type { ObjectDescriptor } from "../../ra-kernel/object-descriptor.js";
import type { ServerInfo } from "../../servers/name/protocol.js";
import type { LockInfo, SegmentSize } from "../../servers/data/protocol.js";
import type { TraceEvent } from "../../servers/host/thread-trace.js";
import { normalizePath, rootBinding, type Binding, type BindingKind } from "../../servers/name/name-directory.js";
import { newThreadId } from "../../ra-kernel/ids.js";
import type { Cluster, InvokeOptions, KillReport, LoadResult, ThreadFrame } from "../../shell/client/cluster.js";
import { NameUnboundError } from "../../shell/client/errors.js";
import type { ThreadRecord } from "../../shell/client/thread-records.js";
import { remoteRef, type Remote } from "../../shell/client/remote.js";
import type { ServerSurvey } from "../../shell/server-survey.js";

export interface FakeCall {
  method: string;
  args: unknown[];
}

export class FakeCluster {
  readonly bindings = new Map<string, Binding>();
  readonly descriptors = new Map<SysName, ObjectDescriptor>();
  readonly calls: FakeCall[] = [];
  servers: ServerInfo[] = [];
  surveyResult: ServerSurvey = { rows: [], fresh: true, asOf: 0 };
  loadResults: LoadResult[] = [];
  onInvoke: (target: SysName, entry: string, args: unknown[], options: InvokeOptions) => unknown = () => undefined;
  /** The descriptor createObject returns next (its sysname is bound to the path). */
  nextDescriptor: ObjectDescriptor | null = null;

  asCluster(): Cluster {
    return this as unknown as Cluster;
  }

  bind(path: string, kind: BindingKind, sysname: SysName | null = null, meta: Record<string, unknown> = {}): Binding {
    const b: Binding = { path: normalizePath(path), sysname, kind, meta, updatedAt: 0 };
    this.bindings.set(b.path, b);
    return b;
  }

  /** Calls of one method, by their arguments. */
  callsOf(method: string): unknown[][] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args);
  }

  async lookup(name: string): Promise<Binding | null> {
    this.record("lookup", name);
    const path = normalizePath(name);
    return path === "/" ? rootBinding() : (this.bindings.get(path) ?? null);
  }

  async resolve(name: string): Promise<SysName> {
    this.record("resolve", name);
    const b = this.bindings.get(normalizePath(name));
    if (!b || b.kind !== "object" || !b.sysname) throw new NameUnboundError(`no object named ${normalizePath(name)}`, { path: normalizePath(name) });
    return b.sysname;
  }

  ref<T>(sysname: SysName): Remote<T> {
    return remoteRef<T>(sysname, (s, entry, args, options) => this.invoke(s, entry, args, options));
  }

  async invoke(target: SysName, entry: string, args: unknown[], options: InvokeOptions = {}): Promise<unknown> {
    const { onThread, ...recorded } = options;
    this.record("invoke", target, entry, args, recorded);
    onThread?.(newThreadId(this.workstation));
    return this.onInvoke(target, entry, args, recorded);
  }

  async createObject(className: string, name: string, args: unknown[] = []): Promise<ObjectDescriptor> {
    this.record("createObject", className, name, args);
    const d = this.nextDescriptor;
    if (!d) throw new Error("FakeCluster: set nextDescriptor before createObject");
    this.descriptors.set(d.sysname, d);
    this.bind(name, "object", d.sysname, { className: d.className });
    return d;
  }

  async load(file: string, options: { check?: boolean } = {}): Promise<LoadResult[]> {
    this.record("load", file, options.check === true);
    return this.loadResults;
  }

  async describe(sysname: SysName): Promise<ObjectDescriptor | null> {
    this.record("describe", sysname);
    return this.descriptors.get(sysname) ?? null;
  }

  readonly workstation = "ws-test";
  /** What `threads` answers, and what `kill` answers. */
  threadFrames: ThreadFrame[] = [];
  /** What `threadRecords` answers (this workstation's records). */
  records: ThreadRecord[] = [];
  killReport: KillReport | null = null;

  threadRecords(): ThreadRecord[] {
    this.record("threadRecords");
    return this.records;
  }

  async threads(): Promise<{ frames: ThreadFrame[]; unreachable: { server: string; error: string }[] }> {
    this.record("threads");
    return { frames: this.threadFrames, unreachable: [] };
  }

  traceEvents: TraceEvent[] = [];

  async trace(thread: string): Promise<{ events: TraceEvent[]; dropped: { server: string; events: number }[]; unreachable: { server: string; error: string }[] }> {
    this.record("trace", thread);
    return { events: this.traceEvents, dropped: [], unreachable: [] };
  }

  async kill(thread: string): Promise<KillReport> {
    this.record("kill", thread);
    return this.killReport ?? { thread, frames: [], unreachable: [] };
  }

  /** What `segmentSizes` answers (none unless set). */
  sizes: SegmentSize[] = [];

  async segmentSizes(d: ObjectDescriptor): Promise<SegmentSize[]> {
    this.record("segmentSizes", d.sysname);
    return this.sizes;
  }

  /** What `inspect` answers. */
  inspectResult = { className: "Rectangle", classVersion: 1, server: "cs1", fields: {} as Record<string, unknown> };

  async inspect(sysname: SysName, options: { depth?: number } = {}): Promise<typeof this.inspectResult> {
    this.record("inspect", sysname, options);
    return this.inspectResult;
  }

  /** Each object's locks as its home would list them (none unless set). */
  readonly lockLists = new Map<SysName, LockInfo[]>();

  async locks(sysname: SysName): Promise<LockInfo[]> {
    this.record("locks", sysname);
    return this.lockLists.get(sysname) ?? [];
  }

  async deleteObject(sysname: SysName): Promise<boolean> {
    this.record("deleteObject", sysname);
    return this.descriptors.delete(sysname);
  }

  async serverList(): Promise<ServerInfo[]> {
    this.record("serverList");
    return this.servers;
  }

  /** The `servers` survey: `survey` as set by the test. */
  async survey(): Promise<ServerSurvey> {
    this.record("survey");
    return this.surveyResult;
  }

  /** A stand-in for the NameClient: list, rename and unbind over the same bindings. */
  async names(): Promise<{ list(path: string): Promise<Binding[]>; rename(from: string, to: string): Promise<Binding>; unbind(path: string): Promise<boolean> }> {
    return {
      list: async (path) => {
        this.record("names.list", path);
        const dir = normalizePath(path);
        const prefix = dir === "/" ? "/" : `${dir}/`;
        return [...this.bindings.values()]
          .filter((b) => b.path.startsWith(prefix) && !b.path.slice(prefix.length).includes("/"))
          .sort((a, b) => a.path.localeCompare(b.path));
      },
      rename: async (from, to) => {
        this.record("names.rename", from, to);
        const b = this.bindings.get(normalizePath(from));
        if (!b) throw new NameUnboundError(`no such name: ${from}`, { path: from });
        this.bindings.delete(b.path);
        return this.bind(to, b.kind, b.sysname, b.meta);
      },
      unbind: async (path) => {
        this.record("names.unbind", path);
        return this.bindings.delete(normalizePath(path));
      },
    };
  }

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
  }
}
