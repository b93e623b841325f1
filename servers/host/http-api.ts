/**
 * HttpApi: the express app every server serves on its port next to socket.io.
 *
 *   GET /health       {id, role, pid, status: "ok", uptime}
 *   GET /metrics      Prometheus text
 *   GET /api/status   the role's status as JSON
 * Every call must carry the cluster token (`Authorization: Bearer TOKEN` or
 * `x-clouds-token: TOKEN`); without it: 401 and a JSON error naming what was missing.
 */
import express, { type Request, type Response, type NextFunction } from "express";
import { timingSafeEqual } from "node:crypto";
import { processFigures, renderMetrics, type Figures } from "./metrics.js";

export interface HttpRoleView {
  id: string;
  role: string;
  status(): unknown | Promise<unknown>;
  figures(): Figures;
}

export function tokenMatches(given: string | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function presentedToken(req: Request): string | undefined {
  const auth = req.header("authorization");
  if (auth && /^bearer /i.test(auth)) return auth.slice(7).trim();
  return req.header("x-clouds-token") ?? undefined;
}

export function createHttpApi(view: HttpRoleView, token: string): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use((req: Request, res: Response, next: NextFunction) => {
    const given = presentedToken(req);
    if (tokenMatches(given, token)) return next();
    res.status(401).json({ error: given ? "the cluster token is wrong" : "the cluster token is missing (send Authorization: Bearer TOKEN)" });
  });
  app.get("/health", (_req, res) => {
    res.json({ id: view.id, role: view.role, pid: process.pid, status: "ok", uptime: Math.round(process.uptime()) });
  });
  app.get("/metrics", (_req, res) => {
    res.type("text/plain; version=0.0.4").send(renderMetrics(view.id, view.role, { ...processFigures(), ...view.figures() }));
  });
  app.get("/api/status", async (_req, res) => {
    try {
      res.json(await view.status());
    } catch (err) {
      res.status(500).json({ error: (err as Error).message });
    }
  });
  app.use((req: Request, res: Response) => {
    res.status(404).json({ error: `no such endpoint: ${req.method} ${req.path}` });
  });
  return app;
}
