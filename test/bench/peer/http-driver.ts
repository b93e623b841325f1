/**
 * The peer baseline's driver process: runs the workloads on the counter service
 * (counter-service.ts) over HTTP/1.1, as a Node client of such a service would — `http`
 * with a keep-alive Agent of at most 32 sockets (the most loops a workload runs), so no
 * call pays for a TCP handshake once the sockets are open.
 *
 * Usage: withDriver("http-driver.js", { port } satisfies HttpDriverConfig, ...) (driver-child.ts).
 */
import * as http from "node:http";
import type { CounterTarget } from "./counter-target.js";
import { serveWorkloads } from "./driver-loop.js";

export interface HttpDriverConfig {
  /** The counter service's port on 127.0.0.1. */
  port: number;
}

const MAX_SOCKETS = 32;

export class HttpCounterTarget implements CounterTarget {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS });

  constructor(private readonly port: number) {}

  /** Nothing to do: the service creates a counter at 0 on its first increment. */
  async prepare(): Promise<void> {}

  async increment(id: string): Promise<number> {
    return ((await this.call("POST", `/counters/${encodeURIComponent(id)}/increment`)) as { count: number }).count;
  }

  async read(id: string): Promise<number> {
    return ((await this.call("GET", `/counters/${encodeURIComponent(id)}`)) as { count: number }).count;
  }

  async nullRoundTrip(): Promise<void> {
    await this.call("POST", "/null");
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  /** One request with an empty body; resolves with the parsed JSON answer, rejects on a status other than 200. */
  call(method: string, path: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: this.port, method, path, agent: this.agent, headers: { "content-length": 0 } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const body = Buffer.concat(chunks).toString();
          if (res.statusCode === 200) resolve(JSON.parse(body));
          else reject(new Error(`${method} ${path}: ${res.statusCode} ${body}`));
        });
      });
      req.on("error", reject);
      req.end();
    });
  }
}

if (require.main === module) {
  serveWorkloads<HttpDriverConfig>("http-driver", async ({ port }) => new HttpCounterTarget(port));
}
