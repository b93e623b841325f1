/**
 * The peer baseline's counter service (bench/peer/counter-service.ts) in a real process:
 * it counts exactly under concurrent increments (the benchmark's baseline must be correct
 * before it is fast), runs with the durability the benchmark claims, answers bad input
 * with 4xx JSON, and leaves neither its process nor its folder behind. Its CounterStore
 * in this process: increments started in the same tick (which TypeORM's one shared query
 * runner would interleave) all succeed and all count. Timing is not tested.
 */
import { expect } from "chai";
import { existsSync } from "node:fs";
import { isAlive } from "../../servers/host/process-liveness.js";
import * as os from "node:os";
import * as path from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { CounterStore } from "./peer/counter-store.js";
import { HttpCounterTarget } from "./peer/http-driver.js";
import { withPeerService, type PeerService } from "./peer/peer-service.js";

/** Runs `body` against a fresh service; afterwards, its process and folder must be gone. */
async function withService(body: (peer: PeerService, target: HttpCounterTarget) => Promise<void>): Promise<void> {
  let seen: PeerService | undefined;
  await withPeerService(async (peer) => {
    seen = peer;
    const target = new HttpCounterTarget(peer.port);
    try {
      await body(peer, target);
    } finally {
      await target.close();
    }
  });
  expect(isAlive(seen!.pid), `peer service ${seen!.pid} still running`).to.equal(false);
  expect(existsSync(seen!.dir), `${seen!.dir} still there`).to.equal(false);
}

async function fetchJson(port: number, method: string, path: string): Promise<{ status: number; body: { error?: string } }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  expect(res.headers.get("content-type")).to.match(/^application\/json/);
  return { status: res.status, body: (await res.json()) as { error?: string } };
}

describe("Peer counter service (bench baseline, real process)", function () {
  this.timeout(30_000);

  it("should count 200 concurrent increments of one counter exactly", async () => {
    await withService(async (_peer, target) => {
      const counts = await Promise.all(Array.from({ length: 200 }, () => target.increment("a")));
      expect([...counts].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(await target.read("a")).to.equal(200);
      expect(await target.read("never-incremented")).to.equal(0);
    });
  });

  it("should run SQLite in WAL mode with synchronous=FULL", async () => {
    await withService(async (peer) => {
      expect(peer.settings).to.deep.equal({ journal_mode: "wal", synchronous: 2 });
    });
  });

  it("should answer bad ids and unknown routes with a 4xx JSON error and go on serving", async () => {
    await withService(async (peer, target) => {
      const cases: Array<[method: string, path: string, status: number, error: RegExp]> = [
        ["POST", "/counters/bad%20id/increment", 400, /bad counter id "bad id"/],
        ["GET", `/counters/${"x".repeat(65)}`, 400, /bad counter id/],
        ["POST", "/counters/%E0%A4%A/increment", 400, /URI|decode/i],
        ["GET", "/counters/a/increment", 404, /no such route: GET \/counters\/a\/increment/],
        ["DELETE", "/counters/a", 404, /no such route/],
        ["GET", "/nowhere", 404, /no such route: GET \/nowhere/],
      ];
      for (const [method, path, status, error] of cases) {
        const res = await fetchJson(peer.port, method, path);
        expect(res.status, `${method} ${path}`).to.equal(status);
        expect(res.body.error, `${method} ${path}`).to.match(error);
      }
      expect(await target.increment("a")).to.equal(1);
    });
  });
});

describe("CounterStore (peer baseline)", () => {
  let dir: string;
  let store: CounterStore;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "clouds-peer-store-"));
    store = await CounterStore.open(path.join(dir, "counters.sqlite"));
  });

  afterEach(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("should count 200 increments started in the same tick, none failed", async () => {
    const counts = await Promise.all(Array.from({ length: 200 }, (_, i) => store.increment(i % 2 ? "odd" : "even")));
    expect(counts.filter((_, i) => i % 2 === 0)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i + 1));
    expect([await store.read("even"), await store.read("odd")]).to.deep.equal([100, 100]);
  });

  it("should read what was committed, not an increment still in its transaction", async () => {
    const increment = store.increment("a");
    expect(await store.read("a")).to.equal(1); // queued behind the increment: sees it committed
    expect(await increment).to.equal(1);
  });
});
