/**
 * Tests of the HTTP API every server serves (servers/host/http-api.ts), mounted on a real
 * HTTP server on 127.0.0.1 (port 0) and called with fetch: the token check and its two
 * messages, /health, /metrics, /api/status and the JSON 404.
 */
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createHttpApi, tokenMatches, type HttpRoleView } from "../../../servers/host/http-api.js";

const TOKEN = "0123456789abcdef0123456789abcdef";

describe("HttpApi", () => {
  let server: Server;
  let base: string;
  let status: () => unknown;

  const view: HttpRoleView = {
    id: "cs1",
    role: "compute",
    status: () => status(),
    figures: () => ({ isibas_running: 3, "dsm.faults": 12 }),
  };

  beforeEach(async () => {
    status = () => ({ serverId: "cs1", objects: 2 });
    server = createServer(createHttpApi(view, TOKEN));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function get(path: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<Response> {
    return fetch(`${base}${path}`, { headers });
  }

  describe("the token", () => {
    it("should refuse a call without a token, saying it is missing", async () => {
      for (const path of ["/health", "/metrics", "/api/status", "/nowhere"]) {
        const res = await get(path, {});
        expect(res.status, path).to.equal(401);
        const body = (await res.json()) as { error: string };
        expect(body.error).to.contain("missing").and.to.contain("Authorization: Bearer");
      }
    });

    it("should refuse a wrong token, saying it is wrong", async () => {
      const wrong: Record<string, string>[] = [{ authorization: "Bearer nope" }, { authorization: `Bearer ${TOKEN}x` }, { "x-clouds-token": TOKEN.slice(1) }];
      for (const headers of wrong) {
        const res = await get("/health", headers);
        expect(res.status, JSON.stringify(headers)).to.equal(401);
        expect(((await res.json()) as { error: string }).error).to.equal("the cluster token is wrong");
      }
    });

    it("should treat an authorization that is not Bearer as no token", async () => {
      const res = await get("/health", { authorization: `Basic ${TOKEN}` });
      expect(res.status).to.equal(401);
      expect(((await res.json()) as { error: string }).error).to.contain("missing");
    });

    it("should accept the token as Bearer or in x-clouds-token", async () => {
      expect((await get("/health")).status).to.equal(200);
      expect((await get("/health", { "x-clouds-token": TOKEN })).status).to.equal(200);
    });
  });

  describe("tokenMatches", () => {
    it("should match only the exact token", () => {
      expect(tokenMatches(TOKEN, TOKEN)).to.equal(true);
      for (const given of [undefined, "", TOKEN.slice(1), `${TOKEN} `, TOKEN.toUpperCase()]) expect(tokenMatches(given, TOKEN), String(given)).to.equal(false);
    });
  });

  it("should serve /health as JSON", async () => {
    const res = await get("/health");
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).to.include({ id: "cs1", role: "compute", pid: process.pid, status: "ok" });
    expect(body.uptime).to.be.a("number").and.to.be.at.least(0);
    expect(res.headers.get("x-powered-by")).to.equal(null);
  });

  it("should serve /metrics as Prometheus text labelled with server and role", async () => {
    const res = await get("/metrics");
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.match(/^text\/plain/).and.to.contain("version=0.0.4");
    const text = await res.text();
    expect(text.endsWith("\n")).to.equal(true);
    const lines = text.trimEnd().split("\n");
    const samples = lines.filter((l) => !l.startsWith("#"));
    for (const l of samples) expect(l).to.match(/^clouds_[a-zA-Z0-9_]+\{server="cs1",role="compute"\} -?[0-9.e+]+$/);
    expect(samples).to.include('clouds_isibas_running{server="cs1",role="compute"} 3');
    expect(samples).to.include('clouds_dsm_faults{server="cs1",role="compute"} 12');
    for (const name of ["process_resident_bytes", "process_heap_used_bytes", "process_uptime_seconds", "event_loop_lag_ms"]) {
      expect(lines).to.include(`# TYPE clouds_${name} gauge`);
      expect(samples.some((l) => l.startsWith(`clouds_${name}{`)), name).to.equal(true);
    }
  });

  it("should serve the role's status at /api/status, sync or async", async () => {
    let res = await get("/api/status");
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ serverId: "cs1", objects: 2 });
    status = async () => ({ serverId: "cs1", load: { running: 1, lagMs: 0.5 } });
    res = await get("/api/status");
    expect(await res.json()).to.deep.equal({ serverId: "cs1", load: { running: 1, lagMs: 0.5 } });
  });

  it("should answer 500 with the message when the status fails", async () => {
    status = async () => {
      throw new Error("store closed");
    };
    const res = await get("/api/status");
    expect(res.status).to.equal(500);
    expect(await res.json()).to.deep.equal({ error: "store closed" });
  });

  it("should answer an unknown path or method with a JSON 404", async () => {
    let res = await get("/nowhere");
    expect(res.status).to.equal(404);
    expect(await res.json()).to.deep.equal({ error: "no such endpoint: GET /nowhere" });
    res = await fetch(`${base}/health`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).to.equal(404);
    expect(await res.json()).to.deep.equal({ error: "no such endpoint: POST /health" });
  });
});
