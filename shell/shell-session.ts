/**
 * ShellSession: runs parsed shell lines against a cluster and returns what to print.
 *
 * One session per shell window (or `clouds exec`): it keeps the current directory of the
 * name space. `run(line)` never throws for a bad line or a failed invocation: it returns
 * `{ output, error }` with a one-line message (the REPL prints it and goes on; `exec` exits 1).
 */
import { inspect } from "node:util";
import { CloudsError } from "../ra-kernel/clouds-error.js";
import { isSysName, type SysName } from "../ra-kernel/ids.js";
import type { Cluster, ThreadFrame } from "./client/cluster.js";
import { parseLine } from "./line-parser.js";
import { helpText } from "./help.js";
import type { Expr, ShellCommand } from "./shell-command.js";
import { baseName, joinPath } from "../servers/name/name-directory.js";
import { CLASSES_DIR, isSystemPath, protectedName } from "../servers/name/protocol.js";
import { NameUnboundError } from "./client/errors.js";
import { sysnameOfRemote } from "./client/remote.js";
import { formatPageReport } from "./page-report-format.js";
import { formatServers } from "./server-survey.js";
import { ShellJobs } from "./shell-jobs.js";
import { toWire } from "../objects/wire-value.js";
import { encodeRefs } from "../objects/ref-codec.js";

/** 4096 -> "4 KiB", 52428800 -> "50.0 MiB". */
function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

/** A value with each Remote in it shown as `-> sysname` by util.inspect (inspect NAME). */
function refsShown(value: unknown): unknown {
  const ref = sysnameOfRemote(value);
  if (ref) return { [inspect.custom]: () => `-> ${ref}` };
  if (Array.isArray(value)) return value.map(refsShown);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [refsShown(k), refsShown(v)]));
  if (value instanceof Set) return new Set([...value].map(refsShown));
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, refsShown(v)]));
  }
  return value;
}

/** JSON.stringify's replacer for `exec --json`: a Uint8Array as `{"$bytes": base64}`. */
function bytesAsBase64(_key: string, v: unknown): unknown {
  return v instanceof Uint8Array ? { $bytes: Buffer.from(v).toString("base64") } : v;
}

/** What util.inspect writes where it leaves part of a value out. */
const ABBREVIATED = /\.\.\. \d+ more (?:items?|characters?|bytes?)|\[(?:Object|Array)\]/;

/** Rows under a header, each column as wide as its widest cell. */
function formatTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join("  ");
  return [line(header), ...rows.map(line)];
}

/**
 * How a result is printed: `shell` abbreviates big values (util.inspect's limits) and says
 * how to see all of them; `full` prints everything; `json` one line of JSON, the wire form's
 * tags for what JSON lacks (objects/wire-value.ts), `{"$bytes": base64}` for a Uint8Array
 * and `{"$ref": sysname}` for objects.
 */
export type ResultFormat = "shell" | "full" | "json";

export interface ShellSessionOptions {
  /** ANSI colors in results. @default false */
  color?: boolean;
  /** @default "shell" */
  results?: ResultFormat;
  /** Told `[N] done: ...` / `[N] failed: ...` as a background thread ends (the REPL prints it). */
  onJobEnd?: (line: string) => void;
}

export interface LineResult {
  output: string[];
  error?: string;
  exit?: boolean;
}

export class ShellSession {
  private cwd = "/";
  /** The thread of the invocation this session waits for now, if any (Ctrl-C kills it). */
  private foreground: string | undefined;
  /** `set deadline`: this session's invocations are killed past it (ms). */
  private deadlineMs: number | undefined;

  /** Background threads (`&`); their ends are told to `onJobEnd`. */
  private readonly jobs: ShellJobs;

  private readonly color: boolean;
  private readonly results: ResultFormat;

  constructor(private readonly cluster: Cluster, options: ShellSessionOptions = {}) {
    this.jobs = new ShellJobs(options.onJobEnd ?? (() => undefined));
    this.color = options.color ?? false;
    this.results = options.results ?? "shell";
  }

  async run(line: string): Promise<LineResult> {
    try {
      return { output: await this.execute(parseLine(line)) };
    } catch (err) {
      if (err instanceof ExitSignal) return { output: [], exit: true };
      return { output: [], error: describeError(err) };
    }
  }

  private async execute(cmd: ShellCommand): Promise<string[]> {
    switch (cmd.kind) {
      case "empty": return [];
      case "exit": throw new ExitSignal();
      case "help": return [helpText(cmd.command)];
      case "load": return this.load(cmd.file, cmd.check === true);
      case "new": return this.create(cmd.className, cmd.name, cmd.args);
      case "invoke": return this.invoke(cmd);
      case "ls": return this.ls(cmd.path);
      case "cd": return this.cd(cmd.path);
      case "pwd": return [this.cwd];
      case "mv": return this.mv(cmd.from, cmd.to);
      case "rm": return this.rm(cmd.name, cmd.force === true);
      case "info": return this.info(cmd.name);
      case "servers": return this.servers();
      case "pages": return this.pages(cmd.name, cmd.all === true);
      case "threads": return this.threads(cmd.all === true);
      case "set": return this.setDeadline(cmd.deadlineMs);
      case "kill": return this.kill(cmd.id);
      case "trace": return this.trace(cmd.id);
      case "inspect": return this.inspectObject(cmd.name, cmd.depth);
    }
  }

  /** The current directory of the name space (`cd`). */
  get currentDirectory(): string {
    return this.cwd;
  }

  private path(name: string): string {
    return joinPath(this.cwd, name);
  }

  private async load(file: string, check: boolean): Promise<string[]> {
    const results = await this.cluster.load(file, { check });
    return results.map((r) => {
      const entries = `${r.entries} entry point${r.entries === 1 ? "" : "s"}`;
      if (!r.created) return `class ${r.name} unchanged (version ${r.version}, ${entries})`;
      return r.version === 1 ? `class ${r.name} registered (${entries})` : `class ${r.name} upgraded to version ${r.version} (${entries})`;
    });
  }

  private async create(className: string, name: string, args: Expr[]): Promise<string[]> {
    const path = this.path(name);
    const desc = await this.cluster.createObject(className, path, await this.values(args));
    return [`${path} -> ${desc.sysname}  (${desc.className})`];
  }

  private async invoke(cmd: Extract<ShellCommand, { kind: "invoke" }>): Promise<string[]> {
    const target = await this.cluster.resolve(this.path(cmd.target));
    const args = await this.values(cmd.args);
    const deadline = this.deadlineMs === undefined ? {} : { deadlineMs: this.deadlineMs };
    if (cmd.background) {
      let thread = "";
      const result = this.cluster.invoke(target, cmd.entry, args, { at: cmd.at, ...deadline, onThread: (t) => (thread = t) });
      const number = this.jobs.start(thread, result, (v) => this.format(v), describeError);
      return [`[${number}] ${thread}`];
    }
    let value: unknown;
    try {
      value = await this.cluster.invoke(target, cmd.entry, args, { at: cmd.at, ...deadline, onThread: (t) => (this.foreground = t) });
    } finally {
      this.foreground = undefined;
    }
    return value === undefined && this.results !== "json" ? [] : [this.format(value)]; // JSON: always a value
  }

  /** Background jobs still running (the REPL waits a little for them at the end of piped input). */
  get backgroundJobs(): ShellJobs {
    return this.jobs;
  }

  /**
   * Ctrl-C: kills the invocation this session waits for (its caller, the line being run, then
   * fails with ThreadKilledError); false if none runs (the REPL clears its line instead).
   */
  interrupt(): boolean {
    const thread = this.foreground;
    if (thread === undefined) return false;
    this.cluster.kill(thread).catch(() => undefined); // the line's own error says what became of it
    return true;
  }

  private setDeadline(ms: number | null): string[] {
    this.deadlineMs = ms ?? undefined;
    return [ms === null ? "no deadline: invocations run until they return" : `deadline ${ms} ms: invocations still running then are killed`];
  }

  private async kill(spec: string): Promise<string[]> {
    const thread = spec.startsWith("%") ? this.jobs.threadOf(spec) : spec;
    if (thread === undefined) throw new CloudsError(this.jobs.hasEnded(spec) ? `job ${spec} has already ended` : `no running job ${spec} in this shell (threads lists them)`);
    const r = await this.cluster.kill(thread);
    const lost = r.unreachable.map((u) => `  (${u.server} could not be asked: ${u.error})`);
    if (r.frames.length === 0) return [`thread ${thread}: no frame of it runs on any compute server`, ...lost];
    const where = r.frames.map((f) => `${f.frames} on ${f.server}`).join(", ");
    return [`killed thread ${thread} (frames: ${where})`, ...lost];
  }

  /** `trace ID|%N`: the thread's events on every server, in causal order (also of a job that ended). */
  private async trace(spec: string): Promise<string[]> {
    const thread = spec.startsWith("%") ? this.jobs.threadOf(spec, { ended: true }) : spec;
    if (thread === undefined) throw new CloudsError(`no job ${spec} in this shell (threads lists the running ones)`);
    const { events, dropped, unreachable } = await this.cluster.trace(thread);
    const notes = [
      ...dropped.map((d) => `  (${d.server} dropped its ${d.events} oldest events: some of this thread's may be missing)`),
      ...unreachable.map((u) => `  (${u.server} could not be asked: ${u.error})`),
    ];
    if (events.length === 0) return [`thread ${thread}: no event of it is kept on any server`, ...notes];
    const t0 = events[0].at;
    const rows = events.map((e) => [String(e.clock), e.server, `+${e.at - t0} ms`, e.kind, e.ms === undefined ? e.detail : `${e.detail} (${e.ms.toFixed(2)} ms)`]);
    return [...formatTable(["clock", "server", "time", "event", "detail"], rows), ...notes];
  }

  /**
   * `threads`: the threads this shell started, from the workstation's own records (no message:
   * the compute servers report frames as they run); `--all`: every thread, asked of every
   * compute server. One row per thread, at its deepest frame.
   */
  private async threads(all: boolean): Promise<string[]> {
    if (!all) {
      const mine = this.cluster.threadRecords();
      if (mine.length === 0) return ["no thread of this shell runs"];
      return this.threadTable(mine.map((r) => ({ thread: r.thread, frame: r.frames.at(-1), since: r.since, state: r.state, parent: r.parent })));
    }
    const { frames, unreachable } = await this.cluster.threads();
    const lost = unreachable.map((u) => `  (${u.server} could not be asked: ${u.error})`);
    if (frames.length === 0) return ["no thread runs in the cluster", ...lost];
    const byThread = new Map<string, { thread: string; frame: ThreadFrame; since: number; state: string }>();
    for (const f of frames) {
      const seen = byThread.get(f.thread);
      if (!seen) byThread.set(f.thread, { thread: f.thread, frame: f, since: f.since, state: f.state ?? "" });
      else if (f.depth > seen.frame.depth) Object.assign(seen, { frame: f, state: f.state ?? "", since: Math.min(seen.since, f.since) });
      else seen.since = Math.min(seen.since, f.since);
    }
    return [...this.threadTable([...byThread.values()]), ...lost];
  }

  private threadTable(rows: { thread: string; frame?: { object: string; entry: string; server: string; depth: number }; since: number; state: string; parent?: string }[]): string[] {
    const now = Date.now();
    const job = (thread: string) => {
      const n = this.jobs.numberOf(thread);
      return n === undefined ? "" : `[${n}]`;
    };
    const where = (f: { object: string; entry: string; server: string }) => `${f.object}.${f.entry}@${f.server || "?"}`;
    const cells = rows.map((r) => [
      job(r.thread), r.thread, r.frame ? where(r.frame) : "", r.frame ? String(r.frame.depth) : "", `${((now - r.since) / 1000).toFixed(1)} s`,
      r.parent ? `${r.state} (spawned by ${r.parent})` : r.state,
    ]);
    return formatTable(["job", "thread", "frame", "depth", "for", "state"], cells);
  }

  private async values(args: Expr[]): Promise<unknown[]> {
    return Promise.all(args.map((a) => this.value(a)));
  }

  private async value(expr: Expr): Promise<unknown> {
    switch (expr.kind) {
      case "literal": return expr.value;
      case "array": return this.values(expr.items);
      case "object": {
        const out: Record<string, unknown> = {};
        for (const [k, v] of expr.entries) out[k] = await this.value(v);
        return out;
      }
      case "name": return this.cluster.ref(await this.cluster.resolve(this.path(expr.path)));
    }
  }

  private async ls(path?: string): Promise<string[]> {
    const target = this.path(path ?? ".");
    const names = await this.cluster.names();
    const entries = await names.list(target);
    if (entries.length === 0) return [];
    return entries.map((b) => {
      const name = b.kind === "directory" ? `${baseName(b.path)}/` : baseName(b.path);
      const what = b.kind === "object" ? `${String(b.meta.className ?? "object")}  ${b.sysname}` : b.kind === "class" ? `class v${String(b.meta.version ?? "?")}` : b.kind === "server" ? serverWhat(b.meta) : b.kind;
      return `${name.padEnd(24)} ${what}`;
    });
  }

  private async cd(path: string): Promise<string[]> {
    const target = this.path(path);
    if (target !== "/") {
      const b = await this.cluster.lookup(target);
      if (!b) throw new NameUnboundError(`no such directory: ${target}`, { path: target });
      if (b.kind !== "directory") throw new NameUnboundError(`${target} is ${article(b.kind)} ${b.kind}, not a directory`, { path: target });
    }
    this.cwd = target;
    return [];
  }

  private async mv(from: string, to: string): Promise<string[]> {
    const b = await (await this.cluster.names()).rename(this.path(from), this.path(to));
    return [`${this.path(from)} -> ${b.path}`];
  }

  private async rm(name: string, force: boolean): Promise<string[]> {
    const path = this.path(name);
    const b = await this.cluster.lookup(path);
    if (!b) throw new NameUnboundError(`no such name: ${path}`, { path });
    // Refused before anything is deleted (the name server would refuse the unbind after it).
    if (isSystemPath(path) && !force) throw protectedName(path, "removed (rm --force removes it anyway)");
    if (b.kind === "object" && b.sysname) await this.cluster.deleteObject(b.sysname);
    await (await this.cluster.names()).unbind(path, { force });
    return [b.kind === "object" ? `removed ${path} (object ${b.sysname} deleted)` : `removed ${path}`];
  }

  private async info(name: string): Promise<string[]> {
    const path = this.path(name);
    const b = await this.cluster.lookup(path);
    if (!b) throw new NameUnboundError(`no such name: ${path}`, { path });
    if (b.kind !== "object" || !isSysName(b.sysname)) return [`${path}: ${b.kind}`, ...Object.entries(b.meta).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)];
    const d = await this.cluster.describe(b.sysname);
    if (!d) return [`${path} -> ${b.sysname}: the object no longer exists at its home`];
    // A newer version is registered: the object is upgraded to it on its next invocation.
    const latest = (await this.cluster.lookup(`${CLASSES_DIR}/${d.className}`))?.meta.version;
    const newer = typeof latest === "number" && latest > d.classVersion ? `, latest ${latest}` : "";
    const sizes = new Map((await this.cluster.segmentSizes(d).catch(() => [])).map((s) => [s.segment, s]));
    const size = (segment: SysName) => {
      const s = sizes.get(segment);
      if (!s) return "";
      if (s.pages < 0) return "  (kept on compute servers only, never stored)";
      return `  (${s.pages} of ${s.maxPages} pages stored, ${formatBytes(s.bytes)} on disk)`;
    };
    return [
      `${path} -> ${d.sysname}`,
      `  class     ${d.className} (version ${d.classVersion}${newer})`,
      `  home      ${d.home}`,
      `  data      ${d.segments.data}${size(d.segments.data)}`,
      `  heap      ${d.segments.heap}${size(d.segments.heap)}`,
      `  volatile  ${d.segments.volatile}${size(d.segments.volatile)}`,
      `  created   ${new Date(d.createdAt).toISOString()}`,
      ...(await this.atomicHolders(d.sysname)),
    ];
  }

  /** "held by atomic thread ..." lines for an object an atomic thread holds (none if its home cannot say). */
  private async atomicHolders(sysname: SysName): Promise<string[]> {
    const locks = await this.cluster.locks(sysname).catch(() => []);
    const held = new Map<string, string[]>();
    for (const l of locks) for (const h of l.holders) if (h.atomic) held.set(h.thread, [...(held.get(h.thread) ?? []), h.server]);
    return [...held].map(([thread, servers]) => `  atomic    held by atomic thread ${thread} (frames on ${servers.join(", ")})`);
  }

  private async pages(name: string, all: boolean): Promise<string[]> {
    const path = this.path(name);
    const sysname = await this.cluster.resolve(path);
    const report = await this.cluster.pageReport(sysname);
    if (!report) return [`${path} -> ${sysname}: the object no longer exists at its home`];
    return [`${path} -> ${sysname}  (${report.descriptor.className})`, ...formatPageReport(report, { all })];
  }

  /** `inspect [--depth N] NAME`: each persistent field, decoded (see help). */
  private async inspectObject(name: string, depth?: number): Promise<string[]> {
    const path = this.path(name);
    const sysname = await this.cluster.resolve(path);
    const r = await this.cluster.inspect(sysname, depth === undefined ? {} : { depth });
    const names = Object.keys(r.fields);
    const head = `${path} -> ${sysname}  (${r.className} v${r.classVersion}, ${names.length} persistent field${names.length === 1 ? "" : "s"}, read at ${r.server})`;
    const show = (v: unknown) => inspect(refsShown(v), { depth: Infinity, maxArrayLength: Infinity, maxStringLength: 1000, colors: this.color, breakLength: 100 });
    return [head, ...names.map((n) => `  ${n}: ${show(r.fields[n]).replace(/\n/g, "\n  ")}`)];
  }

  private async servers(): Promise<string[]> {
    return formatServers(await this.cluster.survey());
  }

  private format(value: unknown): string {
    if (this.results === "json") return JSON.stringify(toWire(encodeRefs(value, sysnameOfRemote)), bytesAsBase64);
    const ref = sysnameOfRemote(value);
    if (ref) return `-> ${ref}`;
    if (this.results === "full") return inspect(value, { depth: Infinity, maxArrayLength: Infinity, maxStringLength: Infinity, colors: this.color, breakLength: 100 });
    const shown = inspect(value, { depth: 6, colors: this.color, breakLength: 100 });
    return ABBREVIATED.test(shown) ? `${shown}\n(abbreviated: clouds exec --json 'LINE' prints all of it)` : shown;
  }
}

class ExitSignal extends Error {}

/** `ls /sys/servers`: every registered server with its role, address and the registry's state. */
function serverWhat(meta: Record<string, unknown>): string {
  const state = typeof meta.state === "string" ? `  ${meta.state}` : "";
  return `server  ${String(meta.role ?? "?").padEnd(8)} ${String(meta.address ?? "")}${state}`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

/** One line: the error's class (when it says more than "Error"), message and where it ran. */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { server?: string };
  const generic = ["Error", "CloudsError", "RemoteError"].includes(e.name);
  const where = e.server ? ` (at ${e.server})` : "";
  return `${generic ? "" : `${e.name}: `}${e.message}${where}`;
}
