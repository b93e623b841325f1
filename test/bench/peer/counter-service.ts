/**
 * The peer baseline's server process: a persisted counter as a plain express 5 + TypeORM
 * service over SQLite (CounterStore), the same job objects/examples/counter.ts does on Clouds.
 *
 *   POST /counters/:id/increment   {count}  the new count, committed (fsync) before the reply
 *   GET  /counters/:id             {count}  0 for a counter never incremented
 *   POST /null                     {}       no database: a bare HTTP round trip
 * A bad id (not 1-64 of [A-Za-z0-9_-]): 400; any other route: 404; both JSON `{error}`.
 *
 * Usage: fork("dist/test/bench/peer/counter-service.js", [DB_FILE]) with an IPC channel
 * (PeerService does it). Listens on 127.0.0.1, port 0, and sends `{port}` (or `{error}`)
 * to the parent over IPC. Exits when the parent disconnects the channel or dies, so it
 * never outlives a benchmark; the parent owns the database's folder and removes it.
 */
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import createDebug from "debug";
import express, { type NextFunction, type Request, type Response } from "express";
import { CounterStore } from "./counter-store.js";

const log = createDebug("bench:peer");

/** What the process reports over IPC once it listens (or fails to). */
export type PeerServiceReady = { port: number; settings: Record<string, unknown> } | { error: string };

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** Longer than any pause between a driver's requests: the server never closes a socket the client is about to reuse. */
const KEEP_ALIVE_MS = 60_000;

/** The routes over `store`. */
export function counterApp(store: CounterStore): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.post("/null", (_req, res) => void res.json({}));
  app.use("/counters/:id", checkId);
  app.post("/counters/:id/increment", async (req, res) => void res.json({ count: await store.increment(idOf(req)) }));
  app.get("/counters/:id", async (req, res) => void res.json({ count: await store.read(idOf(req)) }));
  app.use((req: Request, res: Response) => void res.status(404).json({ error: `no such route: ${req.method} ${req.path}` }));
  app.use(reportError);
  return app;
}

function idOf(req: Request): string {
  return req.params.id as string;
}

function checkId(req: Request, res: Response, next: NextFunction): void {
  if (ID_RE.test(idOf(req))) return next();
  res.status(400).json({ error: `bad counter id ${JSON.stringify(idOf(req))}: 1 to 64 of A-Z a-z 0-9 _ -` });
}

/** Express's last resort (a thrown handler, a malformed URL): JSON like every other answer. */
function reportError(err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction): void {
  const status = err.status && err.status >= 400 && err.status < 600 ? err.status : 500;
  if (status >= 500) log("error: %s", err.stack);
  res.status(status).json({ error: err.message });
}

async function main(file: string): Promise<void> {
  const store = await CounterStore.open(file);
  const server = await listen(counterApp(store));
  process.once("disconnect", () => void stop(server, store));
  const { port } = server.address() as AddressInfo;
  log("listening on 127.0.0.1:%d, database %s", port, file);
  process.send!({ port, settings: store.settings() } satisfies PeerServiceReady);
}

function listen(app: express.Express): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, "127.0.0.1", (err?: Error) => (err ? reject(err) : resolve(server)));
    server.keepAliveTimeout = KEEP_ALIVE_MS;
  });
}

async function stop(server: Server, store: CounterStore): Promise<void> {
  server.closeAllConnections();
  server.close();
  await store.close();
  process.exit(0);
}

if (require.main === module) {
  if (!process.send || !process.argv[2]) {
    console.error("counter-service: run me with fork(path, [DB_FILE]) (needs an IPC channel and a database file)");
    process.exit(2);
  }
  main(process.argv[2]).catch((err: Error) => {
    process.send!({ error: err.stack ?? err.message } satisfies PeerServiceReady);
    process.exit(1);
  });
}
