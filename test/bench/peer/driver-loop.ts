/**
 * The body of a driver process (http-driver.ts, clouds-driver.ts): opens its CounterTarget
 * from the JSON config in argv[2], reports DriverReady, then runs each DriverRequest the
 * benchmark sends (runWorkload) and replies — one workload at a time, as the benchmark
 * sends them. A workload that throws (a lost update, a failed call) is replied as an error.
 *
 * The process exits when the IPC channel closes (the benchmark is done, or died): a driver
 * never outlives its benchmark.
 */
import type { CounterTarget } from "./counter-target.js";
import type { DriverReady, DriverReply, DriverRequest } from "./driver-protocol.js";
import { runWorkload } from "./workload-runner.js";

/** How long closing the target may take when the channel closes, before the process exits anyway. */
const CLOSE_TIMEOUT_MS = 5_000;

export function serveWorkloads<C>(script: string, open: (config: C) => Promise<CounterTarget>): void {
  if (!process.send || !process.argv[2]) {
    console.error(`${script}: run me with fork(path, [CONFIG_JSON]) (needs an IPC channel and a config)`);
    process.exit(2);
  }
  open(JSON.parse(process.argv[2]) as C).then(serve, (err: Error) => {
    send({ error: err.stack ?? err.message } satisfies DriverReady);
    process.exit(1);
  });
}

function serve(target: CounterTarget): void {
  process.once("disconnect", () => void closeAndExit(target));
  process.on("message", (req: DriverRequest) => void handle(target, req));
  send({ ready: true } satisfies DriverReady);
}

async function handle(target: CounterTarget, req: DriverRequest): Promise<void> {
  try {
    send({ seq: req.seq, result: await runWorkload(target, req.workload) } satisfies DriverReply);
  } catch (err) {
    send({ seq: req.seq, error: (err as Error).stack ?? String(err) } satisfies DriverReply);
  }
}

async function closeAndExit(target: CounterTarget): Promise<void> {
  setTimeout(() => process.exit(0), CLOSE_TIMEOUT_MS).unref();
  await target.close().catch(() => undefined);
  process.exit(0);
}

/** Sends to the benchmark unless it is gone (then the process is exiting anyway). */
function send(message: DriverReady | DriverReply): void {
  if (process.connected) process.send!(message);
}
