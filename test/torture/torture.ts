/**
 * runTorture: the crash-consistency torture — a real cluster, client loops updating Ledger
 * objects (test/fixtures/ledger.ts) at random compute servers, a nemesis killing servers of
 * every role with -9 and restoring them, then a check of every object against every
 * acknowledgement.
 *
 *   const result = await runTorture({ ...DEFAULT_OPTIONS, seed: 7, durationMs: 30_000 });
 *   console.log(formatReport(result).join("\n"));   // result.violations must be empty
 *
 * Phases: start (`clouds up --detach --compute 3 --data 2` in a temporary directory), load
 * the class, create the objects at cs1 (homes alternate between the data servers), run
 * clients and nemesis for `durationMs`, stop them (in-flight calls finish or fail), restore
 * the cluster, check every object (`live`); then kill -9 every server, `clouds up` again on
 * the same state and check again (`afterRestart`: what is on disk). Everything started is
 * stopped, whatever happens (TortureCluster.stop).
 *
 * The bank (issue 12): `bankClients` more loops move money between `accounts` AtomicAccount
 * objects spread over the data servers with atomic transfers (bank-loop.ts); the same checks
 * read every account and judge it (bankVerdict): money conserved, each acknowledged transfer
 * applied once, each failed one once or not at all, both sides.
 */
import { ChurnSampler, type Churn } from "./churn-sampler.js";
import * as path from "node:path";
import { homeOf, type SysName } from "../../ra-kernel/ids.js";
import type { ServerRole } from "../../ra-kernel/ids.js";
import type { Remote } from "../../shell/client/remote.js";
import type { Ledger, LedgerCheck } from "../fixtures/ledger.js";
import { REPO_ROOT } from "../support/compiled-examples.js";
import { CallLog } from "./call-log.js";
import { ClientLoop } from "./client-loop.js";
import { BankLoop, bankVerdict, outcomeViolations, type BankLog } from "./bank-loop.js";
import type { AtomicAccount } from "../fixtures/atomic-account.js";
import { judge, type ObjectCheck, type Verdict } from "./ledger-verdict.js";
import { Nemesis, type NemesisStats } from "./nemesis.js";
import { Random } from "./random.js";
import { TortureCluster } from "./torture-cluster.js";
import type { TortureOptions } from "./torture-options.js";

export const LEDGER_FILE = path.join(REPO_ROOT, "test/fixtures/ledger.ts");
export const ACCOUNT_FILE = path.join(REPO_ROOT, "test/fixtures/atomic-account.ts");
/** What each bank account opens with. */
const ACCOUNT_OPENING = 100;

/** Tries of one object's final check (the cluster may still be settling after a restore). */
const CHECK_TRIES = 8;
const CHECK_BACKOFF_MS = 1000;
const PROGRESS_EVERY_MS = 10_000;

export interface TortureResult {
  options: TortureOptions;
  /** Wall time of the whole run, setup and checks included (ms). */
  durationMs: number;
  /** Time the clients and the nemesis ran (ms). */
  workloadMs: number;
  /** "T0 on ds1", ... */
  placement: string[];
  nemesis: NemesisStats;
  log: CallLog;
  /** Deactivations and evictions seen on the compute servers (at least). */
  churn: Churn;
  /** Audit findings during the run (the ledger read under its lock). */
  audits: string[];
  live: Verdict;
  afterRestart: Verdict | null;
  /** Every violation, each once, tagged with where it was seen. Must be empty. */
  violations: string[];
  /** The bank's transfers: acknowledged, failed (outcome unknown or not applied), refused overdrafts. */
  bank: { accounts: number; acked: number; failed: number; refused: number; failedBy: [string, number][] };
}

export async function runTorture(options: TortureOptions): Promise<TortureResult> {
  const started = performance.now();
  const random = new Random(options.seed);
  const say = options.log;
  say(`torture: seed ${options.seed}, ${(options.durationMs / 1000).toFixed(0)} s, ${options.clients} clients, ${options.objects} Ledger objects, ${options.compute} compute + ${options.data} data servers (${options.maxActive} active objects each${options.cacheMb ? `, ${options.cacheMb} MiB cache` : ""}), a kill every ~${(options.killEveryMs / 1000).toFixed(1)} s`);
  const cluster = await TortureCluster.start({ compute: options.compute, data: options.data, maxActive: options.maxActive, cacheMb: options.cacheMb || undefined });
  try {
    const sysnames = await createObjects(cluster, options);
    const placement = sysnames.map((s, i) => `T${i} on ${homeOf(s)}`);
    const accounts = await createAccounts(cluster, options);
    if (accounts.length > 0) placement.push(`bank of ${accounts.length} accounts on ${[...new Set(accounts.map(homeOf))].join(" and ")}`);
    say(`  objects: ${placement.join(", ")}  (state in ${cluster.dir})`);
    const log = new CallLog();
    const bankLog: BankLog = { acked: [], failed: [], refused: [] };
    const { loops, nemesis, workloadMs, churn } = await runWorkload(cluster, sysnames, log, random, options, accounts, bankLog);
    say(`  workload over after ${(workloadMs / 1000).toFixed(1)} s; restoring the cluster and checking every object`);
    await cluster.restore();
    const live = judge(await checkAll(cluster, sysnames, options, "live"), log, options.clients);
    const bankLive = await checkBank(cluster, accounts, options, bankLog, "live");
    let afterRestart: Verdict | null = null;
    let bankAfterRestart: string[] = [];
    if (options.restartCheck) {
      say("  kill -9 of every server, clouds up on the same state, checking again");
      await cluster.restartAll();
      afterRestart = judge(await checkAll(cluster, sysnames, options, "after restart"), log, options.clients);
      bankAfterRestart = await checkBank(cluster, accounts, options, bankLog, "after restart");
    }
    const audits = loops.flatMap((l) => l.audits);
    const violations = collectViolations(log, audits, nemesis.stats, live, afterRestart, { live: bankLive, afterRestart: bankAfterRestart });
    const failedBy = new Map<string, number>();
    for (const f of bankLog.failed) {
      const name = f.error.split(":")[0];
      failedBy.set(name, (failedBy.get(name) ?? 0) + 1);
    }
    const bank = { accounts: accounts.length, acked: bankLog.acked.length, failed: bankLog.failed.length, refused: bankLog.refused.length, failedBy: [...failedBy].sort((a, b) => b[1] - a[1]) };
    return { options, durationMs: performance.now() - started, workloadMs, placement, nemesis: nemesis.stats, log, churn, audits, live, afterRestart, violations, bank };
  } finally {
    await cluster.stop();
  }
}

/** Loads Ledger and creates the objects at cs1, whose round robin spreads them over the data servers. */
async function createObjects(cluster: TortureCluster, options: TortureOptions): Promise<SysName[]> {
  const client = await cluster.connect(options.callTimeoutMs);
  await client.load(LEDGER_FILE);
  const out: SysName[] = [];
  for (let i = 0; i < options.objects; i++) {
    const ref = await client.create<Ledger>("Ledger", `T${i}`, [options.clients], { at: "cs1" });
    out.push(ref.sysname);
  }
  return out;
}

/**
 * The bank's accounts, 100 each, spread evenly over the data servers (created at cs1 until
 * every home has its share): most transfers span two homes (two-phase commit).
 */
async function createAccounts(cluster: TortureCluster, options: TortureOptions): Promise<SysName[]> {
  if (options.bankClients === 0) return [];
  const client = await cluster.connect(options.callTimeoutMs);
  await client.load(ACCOUNT_FILE);
  const share = Math.ceil(options.accounts / options.data);
  const byHome = new Map<string, number>();
  const out: SysName[] = [];
  for (let i = 0; out.length < options.accounts && i < options.accounts * 8; i++) {
    const ref = await client.create<AtomicAccount>("AtomicAccount", `B${i}`, [ACCOUNT_OPENING], { at: "cs1" });
    const home = homeOf(ref.sysname);
    if ((byHome.get(home) ?? 0) >= share) continue; // its home has its share (the object stays, unused)
    byHome.set(home, (byHome.get(home) ?? 0) + 1);
    out.push(ref.sysname);
  }
  return out;
}

/** Every account's state, a fresh connection, retried while the cluster settles; the bank's violations. */
async function checkBank(cluster: TortureCluster, accounts: SysName[], options: TortureOptions, log: BankLog, phase: string): Promise<string[]> {
  if (accounts.length === 0) return [];
  const conn = await cluster.connect(options.callTimeoutMs);
  for (let attempt = 1; ; attempt++) {
    try {
      const states = [];
      for (const a of accounts) states.push(await conn.ref<AtomicAccount>(a).state());
      const outcomes = new Map<string, string>();
      for (const f of log.failed) if (f.thread) outcomes.set(f.id, await conn.outcome(f.thread));
      return [...bankVerdict(states, ACCOUNT_OPENING * accounts.length, log), ...outcomeViolations(states, outcomes)];
    } catch (err) {
      const why = `${(err as Error).name}: ${(err as Error).message.split("\n")[0]}`;
      options.log(`  ${phase} check of the bank, try ${attempt}: ${why}`);
      if (attempt >= CHECK_TRIES) return [`bank: could not be read (${why}, ${CHECK_TRIES} tries)`];
      await new Promise((r) => setTimeout(r, CHECK_BACKOFF_MS));
    }
  }
}

async function runWorkload(cluster: TortureCluster, sysnames: SysName[], log: CallLog, random: Random, options: TortureOptions, accounts: SysName[], bankLog: BankLog) {
  const computeIds = cluster.servers().filter((s) => s.role === "compute").map((s) => s.id as string);
  const loops: ClientLoop[] = [];
  for (let c = 0; c < options.clients; c++) {
    const conn = await cluster.connect(options.callTimeoutMs);
    const refs = sysnames.map((s) => conn.ref<Ledger>(s) as Remote<Ledger>);
    loops.push(new ClientLoop(c, { refs, computeIds }, log, random.fork()));
  }
  const bankLoops: BankLoop[] = [];
  for (let c = 0; c < (accounts.length > 0 ? options.bankClients : 0); c++) {
    const conn = await cluster.connect(options.callTimeoutMs);
    bankLoops.push(new BankLoop(c, accounts.map((a) => conn.ref<AtomicAccount>(a) as Remote<AtomicAccount>), computeIds, bankLog, random.fork()));
  }
  const nemesis = new Nemesis(cluster, random.fork(), { killEveryMs: options.killEveryMs, downMs: options.downMs, now: () => log.now(), log: options.log });
  let stop = false;
  const stopped = () => stop;
  const t0 = performance.now();
  const churn = new ChurnSampler(cluster.dir);
  const progress = setInterval(() => {
    options.log(progressLine(log, nemesis.stats.kills));
    void churn.sample(cluster.servers());
  }, PROGRESS_EVERY_MS);
  const running = [...loops.map((l) => l.run(stopped)), ...bankLoops.map((l) => l.run(stopped)), nemesis.run(stopped).catch((err) => void nemesis.stats.failures.push(`nemesis: ${(err as Error).message}`))];
  await new Promise((r) => setTimeout(r, options.durationMs));
  stop = true;
  const workloadMs = performance.now() - t0;
  await Promise.all(running);
  clearInterval(progress);
  await churn.sample(cluster.servers());
  return { loops, nemesis, workloadMs, churn: churn.totals() };
}

function progressLine(log: CallLog, kills: Record<ServerRole, number>): string {
  const all = kills.name + kills.data + kills.compute;
  return `  t=${(log.now() / 1000).toFixed(0)}s  acknowledged ${log.acknowledged()}, errors ${log.failed().length}, kills ${all}`;
}

/** check() of every object, a fresh connection, retried while the cluster settles. */
async function checkAll(cluster: TortureCluster, sysnames: SysName[], options: TortureOptions, phase: string): Promise<ObjectCheck[]> {
  const conn = await cluster.connect(options.callTimeoutMs);
  const out: ObjectCheck[] = [];
  for (const [object, sysname] of sysnames.entries()) {
    const label = `T${object}`;
    let last = "";
    for (let attempt = 1; attempt <= CHECK_TRIES; attempt++) {
      try {
        const check = (await conn.ref<Ledger>(sysname).check()) as LedgerCheck;
        out.push({ label, object, check });
        last = "";
        break;
      } catch (err) {
        last = `${(err as Error).name}: ${(err as Error).message.split("\n")[0]}`;
        options.log(`  ${phase} check of ${label}, try ${attempt}: ${last}`);
        await new Promise((r) => setTimeout(r, CHECK_BACKOFF_MS));
      }
    }
    if (last) out.push({ label, object, error: `${last} (${CHECK_TRIES} tries)` });
  }
  return out;
}

/** Every violation once, tagged with the phases that saw it. */
function collectViolations(log: CallLog, audits: string[], nemesis: NemesisStats, live: Verdict, afterRestart: Verdict | null, bank: { live: string[]; afterRestart: string[] }): string[] {
  const tagged = new Map<string, Set<string>>();
  const add = (phase: string, v: string) => tagged.set(v, (tagged.get(v) ?? new Set<string>()).add(phase));
  for (const c of log.failed()) {
    if (c.error!.outcome === "corrupt") add("during the run", `T${c.object}: ${c.kind}(${c.client}, ${c.seq})${c.at ? ` at ${c.at}` : ""} failed with ${c.error!.name}: ${c.error!.message.split("\n")[0]}`);
  }
  for (const a of audits) add("during the run", a);
  for (const f of nemesis.failures) add("nemesis", `the cluster could not be restored: ${f.split("\n")[0]}`);
  for (const v of live.violations) add("live", v);
  for (const v of afterRestart?.violations ?? []) add("after restart", v);
  for (const v of bank.live) add("live", v);
  for (const v of bank.afterRestart) add("after restart", v);
  return [...tagged].map(([v, phases]) => `[${[...phases].join(", ")}] ${v}`);
}
