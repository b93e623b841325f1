/**
 * The `clouds` command line (DESIGN §2): cluster lifecycle, the shell, one-shot lines,
 * class compilation, and the server roles for multi-machine deployments.
 * Every failure is one clear line on stderr and exit code 1.
 */
import { parseArgs } from "node:util";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { asServerId, type ServerRole } from "../ra-kernel/ids.js";
import type { ServerOptions } from "../servers/host/server-options.js";
import { copyToken, DEFAULT_DIR, ensureToken, writeWorkstation } from "./cluster-file.js";
import { takeCensus } from "./cluster-census.js";
import { down, status, up } from "./cluster-launcher.js";
import { formatServerTable } from "./server-survey.js";
import { connect } from "./client/cluster.js";
import { runRepl } from "./repl.js";
import { ShellSession, describeError } from "./shell-session.js";
import { runRole, runRoles } from "./role-command.js";

process.setSourceMapsEnabled(true);

const USAGE = `usage: clouds <command> [options]

  up [--dir D] [--compute N] [--data N] [--detach]   start the embedded cluster (then the shell);
                                                     on a cluster with dead servers, restart them in place
      [--workers N] [--max-invocation-memory M]      isiba workers per compute server (2), JS heap of each in MiB
                                                     (1024; alias --worker-heap-mb): an invocation that allocates
                                                     past it fails with ResourceLimitError, its server carries on
      [--cache-mb M]                                 page cache bound of each compute server (256 MiB)
      [--max-active N]                               objects kept active on each compute server (2000)
      [--durability power|process]                   data servers fsync every commit (power) or not (process)
  down [--dir D]                                     stop every server of it
  token [--dir D]                                    create the cluster's token file (mode 0600) if it has
                                                     none, and print where it is (copy it to each machine)
  join HOST:PORT --token-file F [--dir D]            make D a workstation's directory for the cluster whose
                                                     name server is HOST:PORT (shell, exec, status use it)
  status [--dir D]                                   every server: role, address, pid, health, load
  shell [--dir D]                                    the interactive shell
  exec [--dir D] [--json] 'LINE'                     run one shell line; a result is printed whole
                                                     (--json: as JSON, bigint Date Map Set undefined
                                                     NaN tagged: {"$bigint":"12"} {"$date":ms} {"$map":[[k,v]]}
                                                     {"$set":[v]} {"$undef":1} {"$num":"NaN"} {"$bytes":base64},
                                                     objects {"$ref":sysname}; a plain object whose one key
                                                     is such a tag as {"$obj":{...}})
  compile FILE.ts [--check] [--dir D]                bundle and register the classes of a file
                                                     (--check: type-check it first, register nothing on errors)
  name-server | data-server | compute-server         run one role (multi-machine deployments):
      --id ID --dir D --name-server HOST:PORT [--host H] [--port P] --token-file F
  node --roles name,data,compute [...]               run several roles in one process

Cluster state, logs and cluster.json live under --dir (default ${DEFAULT_DIR}).`;

const OPTIONS = {
  dir: { type: "string", default: DEFAULT_DIR },
  compute: { type: "string", default: "2" },
  data: { type: "string", default: "1" },
  detach: { type: "boolean", default: false },
  workers: { type: "string" },
  "worker-heap-mb": { type: "string" },
  "max-invocation-memory": { type: "string" },
  "cache-mb": { type: "string" },
  "max-active": { type: "string" },
  durability: { type: "string" },
  id: { type: "string" },
  host: { type: "string", default: "127.0.0.1" },
  port: { type: "string", default: "0" },
  "name-server": { type: "string" },
  "token-file": { type: "string" },
  token: { type: "string" },
  roles: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
  check: { type: "boolean", default: false },
  json: { type: "boolean", default: false },
} as const;

type Flags = ReturnType<typeof parse>["values"];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
}

function count(flags: Flags, name: "compute" | "data"): number {
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new Error(`--${name} must be a whole number from 1 to 32, got '${flags[name]}'`);
  return n;
}

function durabilityOf(flags: Flags): "power" | "process" | undefined {
  const d = flags.durability;
  if (d !== undefined && d !== "power" && d !== "process") throw new Error(`--durability must be 'power' or 'process', got '${d}'`);
  return d;
}

function workerHeapOf(flags: Flags): number | undefined {
  const flag = flags["max-invocation-memory"] !== undefined ? "max-invocation-memory" : "worker-heap-mb";
  const v = flags[flag];
  if (v === undefined) return undefined;
  if (flags["max-invocation-memory"] !== undefined && flags["worker-heap-mb"] !== undefined) throw new Error("give --max-invocation-memory or --worker-heap-mb, not both (they are one setting)");
  const n = Number(v);
  if (!Number.isInteger(n) || n < 16 || n > 65536) throw new Error(`--${flag} must be a whole number of MiB from 16 to 65536, got '${v}'`);
  return n;
}

function cacheMbOf(flags: Flags): number | undefined {
  const v = flags["cache-mb"];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1 << 20) throw new Error(`--cache-mb must be a whole number of MiB from 1 to 1048576, got '${v}'`);
  return n;
}

function maxActiveOf(flags: Flags): number | undefined {
  const v = flags["max-active"];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 10_000_000) throw new Error(`--max-active must be a whole number of objects from 1 to 10000000, got '${v}'`);
  return n;
}

async function cmdUp(flags: Flags): Promise<number> {
  const dir = flags.dir!;
  const workers = flags.workers ? Number(flags.workers) : undefined;
  const workerHeapMb = workerHeapOf(flags);
  console.log(`starting Clouds/TS cluster in ${dir} ...`);
  const { info, started, restarted, kept } = await up({ dir, compute: count(flags, "compute"), data: count(flags, "data"), workers, workerHeapMb, cacheMb: cacheMbOf(flags), maxActive: maxActiveOf(flags), durability: durabilityOf(flags), say: (l) => console.log(l) });
  if (started) console.log(`cluster up: ${info.servers.length} servers (cluster file ${path.join(dir, "cluster.json")})`);
  else if (restarted.length > 0) console.log(`cluster repaired in ${dir}: restarted ${ids(restarted)}${kept.length > 0 ? `; kept ${ids(kept)} running` : ""}`);
  else console.log(`cluster already running in ${dir} (name server ${info.nameServer})`);
  if (flags.detach) return 0;
  try {
    return await cmdShell(flags);
  } finally {
    if (started) {
      console.log("stopping the cluster ...");
      await down(dir, (l) => console.log(l));
    }
  }
}

function ids(servers: { id: string }[]): string {
  return servers.map((s) => s.id).join(", ");
}

async function cmdShell(flags: Flags): Promise<number> {
  const cluster = await connect({ dir: flags.dir });
  try {
    return (await runRepl(cluster)) ? 0 : 1;
  } finally {
    await cluster.close();
  }
}

async function cmdExec(flags: Flags, line: string | undefined): Promise<number> {
  if (line === undefined) throw new Error("exec needs a shell line, e.g. clouds exec 'RectA.area()'");
  const cluster = await connect({ dir: flags.dir, onPrint: (_thread, text) => console.log(text) });
  try {
    const result = await new ShellSession(cluster, { results: flags.json ? "json" : "full" }).run(line);
    for (const out of result.output) console.log(out);
    if (result.error) {
      console.error(`error: ${result.error}`);
      return 1;
    }
    return 0;
  } finally {
    await cluster.close();
  }
}

async function cmdCompile(flags: Flags, file: string | undefined): Promise<number> {
  if (!file) throw new Error("compile needs a file, e.g. clouds compile objects/examples/rectangle.ts");
  return cmdExec(flags, `load ${flags.check ? "--check " : ""}${JSON.stringify(file)}`);
}

async function cmdToken(flags: Flags): Promise<number> {
  const file = path.resolve(flags.dir!, "token");
  const existed = existsSync(file);
  ensureToken(flags.dir!);
  console.log(`${existed ? "token kept" : "token created"}: ${file} (mode 0600: it admits whoever has it to the cluster)`);
  return 0;
}

/** `join HOST:PORT --token-file F`: writes a workstation's directory, then checks the cluster answers with that token. */
async function cmdJoin(flags: Flags, nameServer: string | undefined): Promise<number> {
  if (!nameServer || !/^[^\s:]+:\d{1,5}$/.test(nameServer)) throw new Error(`join needs the name server's HOST:PORT, e.g. clouds join 10.0.0.5:7000 --token-file token${nameServer ? ` (got '${nameServer}')` : ""}`);
  if (!flags["token-file"]) throw new Error("join needs --token-file F: the cluster's token, copied from the machine that made it ('clouds token' there says where it is)");
  const dir = flags.dir!;
  if (existsSync(path.join(dir, "cluster.json")) && takeCensus(dir).entries.length > 0) throw new Error(`${dir} holds a cluster's servers: join with another --dir`);
  copyToken(dir, flags["token-file"]);
  writeWorkstation(dir, nameServer);
  console.log(`wrote ${path.join(dir, "cluster.json")} (name server ${nameServer}) and ${path.join(dir, "token")}`);
  const cluster = await connect({ dir, timeoutMs: 5000 }).catch((err: Error) => err);
  if (cluster instanceof Error) {
    console.error(`but the cluster did not answer: ${describeError(cluster)} (check the address, that its port is open, and the token)`);
    return 1;
  }
  try {
    const servers = await cluster.serverList();
    console.log(`joined: ${servers.length} server(s) up: ${servers.map((s) => `${s.id} (${s.role})`).join(", ")}`);
    return 0;
  } finally {
    await cluster.close();
  }
}

async function cmdStatus(flags: Flags): Promise<number> {
  const { rows, leases } = await status(flags.dir!);
  if (!leases) console.log("(the name server did not answer: registration leases unknown)");
  for (const line of formatServerTable(rows)) console.log(line);
  return rows.every((r) => r.health === "up") ? 0 : 1;
}

async function cmdDown(flags: Flags): Promise<number> {
  const n = await down(flags.dir!, (l) => console.log(l));
  console.log(n === 0 ? `no cluster running in ${flags.dir}` : `cluster in ${flags.dir} stopped (${n} servers)`);
  return 0;
}

const DEFAULT_IDS: Record<ServerRole, string> = { name: "ns1", data: "ds1", compute: "cs1" };

/** Options of one role; `nameServerHere`: a name server starts in this same process. */
function roleOptions(flags: Flags, role: ServerRole, nameServerHere = false): ServerOptions {
  const token = flags.token ?? (flags["token-file"] ? readFileSync(flags["token-file"], "utf8").trim() : process.env.CLOUDS_TOKEN);
  if (!token) throw new Error("a server needs the cluster token: --token-file F (or CLOUDS_TOKEN)");
  if (role !== "name" && !flags["name-server"] && !nameServerHere) throw new Error(`a ${role} server needs --name-server HOST:PORT`);
  const id = asServerId(flags.id ?? DEFAULT_IDS[role]);
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got '${flags.port}'`);
  return {
    id, role, host: flags.host!, port, dir: path.resolve(flags.dir === DEFAULT_DIR ? path.join(DEFAULT_DIR, id) : flags.dir!), token,
    nameServer: flags["name-server"], workers: flags.workers ? Number(flags.workers) : undefined, workerHeapMb: workerHeapOf(flags), cacheMb: cacheMbOf(flags), maxActive: maxActiveOf(flags), durability: durabilityOf(flags),
  };
}

async function cmdRole(flags: Flags, role: ServerRole): Promise<number> {
  await runRole(roleOptions(flags, role));
  return -1;
}

async function cmdNode(flags: Flags): Promise<number> {
  const roles = (flags.roles ?? "").split(",").map((r) => r.trim()).filter(Boolean);
  const known: ServerRole[] = ["name", "data", "compute"];
  const bad = roles.find((r) => !known.includes(r as ServerRole));
  if (roles.length === 0 || bad) throw new Error(`--roles takes a list of name,data,compute${bad ? `; '${bad}' is not a role` : ""}`);
  if (roles.length > 1 && flags.port !== "0") throw new Error("several roles in one process need --port 0 (each role gets its own port)");
  if (roles.length > 1 && flags.id) throw new Error("--id names one role; with several roles the ids are ns1, ds1, cs1");
  const order = known.filter((r) => roles.includes(r));
  const list = order.map((role) => ({ ...roleOptions(flags, role, order.includes("name")), dir: path.resolve(flags.dir!, flags.id ?? DEFAULT_IDS[role]) }));
  await runRoles(list);
  return -1;
}

export async function main(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parse(argv);
  const [command, arg] = positionals;
  if (flags.help || !command || command === "help") {
    console.log(USAGE);
    return command || flags.help ? 0 : 1;
  }
  switch (command) {
    case "up": return cmdUp(flags);
    case "down": return cmdDown(flags);
    case "status": return cmdStatus(flags);
    case "token": return cmdToken(flags);
    case "join": return cmdJoin(flags, arg);
    case "shell": return cmdShell(flags);
    case "exec": return cmdExec(flags, arg);
    case "compile": return cmdCompile(flags, arg);
    case "name-server": return cmdRole(flags, "name");
    case "data-server": return cmdRole(flags, "data");
    case "compute-server": return cmdRole(flags, "compute");
    case "node": return cmdNode(flags);
    default: throw new Error(`unknown command '${command}' (try 'clouds help')`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err) => {
      console.error(`clouds: ${describeError(err)}`);
      process.exit(1);
    },
  );
}
