/**
 * Options of a torture run (test/torture/torture.ts), and how `npm run torture` reads them
 * from its arguments and the environment:
 *
 *   npm run torture -- --duration 60 --seed 7 --clients 4 --objects 4 --kill-every 4 --bank-clients 2 --accounts 6
 *   TORTURE_DURATION=60 TORTURE_SEED=7 npm run torture
 *
 * Durations on the command line are in seconds; the fields below are in milliseconds.
 */
import { parseArgs } from "node:util";

export interface TortureOptions {
  /** How long clients run updates while the nemesis kills servers (ms). @default 180000 */
  durationMs: number;
  /** Seed of every random choice of the plan. @default the time of the run */
  seed: number;
  /** Client loops, each with its own connection, one invocation at a time. @default 4 */
  clients: number;
  /** Ledger objects (created in turn on each data server). @default 4 */
  objects: number;
  /** Client loops moving money with atomic transfers between the accounts (0: no bank). @default 2 */
  bankClients: number;
  /** AtomicAccount objects of the bank, spread over the data servers. @default 6 */
  accounts: number;
  /** Compute servers. @default 3 */
  compute: number;
  /** Data servers. @default 2 */
  data: number;
  /**
   * Objects kept active on each compute server (--max-active): fewer than `objects`, so
   * deactivation (every page evicted: owned ones given home, read copies told) runs all
   * the time, between the kills. @default 3
   */
  maxActive: number;
  /** Page cache bound of each compute server (MiB; --cache-mb). 0: the server's default. @default 0 */
  cacheMb: number;
  /** Mean time between two kills (ms); each wait is drawn in [0.5, 1.5] of it. 0: no kills. @default 4000 */
  killEveryMs: number;
  /** How long a killed server stays down before the repair (ms, upper bound). @default 1500 */
  downMs: number;
  /** Per-invocation timeout of the clients (ms). @default 20000 */
  callTimeoutMs: number;
  /** After the live check, kill -9 every server, start the cluster again and check once more. @default true */
  restartCheck: boolean;
  /** Progress lines (the report is returned, not printed). @default none */
  log: (line: string) => void;
}

export const DEFAULT_OPTIONS: Omit<TortureOptions, "seed"> = {
  durationMs: 180_000,
  clients: 4,
  objects: 4,
  bankClients: 2,
  accounts: 6,
  compute: 3,
  data: 2,
  maxActive: 3,
  cacheMb: 0,
  killEveryMs: 4000,
  downMs: 1500,
  callTimeoutMs: 20_000,
  restartCheck: true,
  log: () => undefined,
};

/** Options from argv (`--duration S --seed N ...`) over TORTURE_* env variables over the defaults. */
export function parseTortureArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): TortureOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string" }, seed: { type: "string" }, clients: { type: "string" }, objects: { type: "string" },
      "bank-clients": { type: "string" }, accounts: { type: "string" },
      compute: { type: "string" }, data: { type: "string" }, "kill-every": { type: "string" }, "down": { type: "string" },
      "max-active": { type: "string" }, "cache-mb": { type: "string" },
      "call-timeout": { type: "string" }, "no-restart-check": { type: "boolean" },
    },
  });
  const num = (flag: keyof typeof values, envName: string, fallback: number, scale = 1): number => {
    const text = (values[flag] as string | undefined) ?? env[envName];
    if (text === undefined || text === "") return fallback;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`--${flag} (or ${envName}) must be a number >= 0, got '${text}'`);
    return Math.round(n * scale);
  };
  const d = DEFAULT_OPTIONS;
  return {
    ...d,
    durationMs: num("duration", "TORTURE_DURATION", d.durationMs, 1000),
    seed: num("seed", "TORTURE_SEED", Date.now() % 1_000_000),
    clients: Math.max(1, num("clients", "TORTURE_CLIENTS", d.clients)),
    objects: Math.max(1, num("objects", "TORTURE_OBJECTS", d.objects)),
    bankClients: num("bank-clients", "TORTURE_BANK_CLIENTS", d.bankClients),
    accounts: Math.max(2, num("accounts", "TORTURE_ACCOUNTS", d.accounts)),
    compute: Math.max(1, num("compute", "TORTURE_COMPUTE", d.compute)),
    data: Math.max(1, num("data", "TORTURE_DATA", d.data)),
    maxActive: Math.max(1, num("max-active", "TORTURE_MAX_ACTIVE", d.maxActive)),
    cacheMb: num("cache-mb", "TORTURE_CACHE_MB", d.cacheMb),
    killEveryMs: num("kill-every", "TORTURE_KILL_EVERY", d.killEveryMs, 1000),
    downMs: num("down", "TORTURE_DOWN", d.downMs, 1000),
    callTimeoutMs: num("call-timeout", "TORTURE_CALL_TIMEOUT", d.callTimeoutMs, 1000),
    restartCheck: !(values["no-restart-check"] ?? env.TORTURE_NO_RESTART_CHECK === "1"),
  };
}
