/**
 * Tests of ThreadRoutes (servers/compute/thread-routes.ts): a thread's lines go back on the
 * connection it FIRST arrived on here (never looping on a re-entry), are dropped when no
 * invocation of it runs here, and flush waits for their delivery.
 */
import { expect } from "chai";
import { ThreadRoutes } from "../../../servers/compute/thread-routes.js";
import type { Peer } from "../../../servers/transport/transport.js";

function fakePeer(id: string, sent: Array<[string, unknown]>, delay = 0): Peer {
  return {
    remoteId: id, address: id, closed: false,
    request: async <T>(kind: string, body: unknown) => {
      if (delay) await new Promise((r) => setTimeout(r, delay));
      sent.push([`${id}:${kind}`, body]);
      return { delivered: true } as T;
    },
    setHandler: () => undefined, onClose: () => undefined, close: async () => undefined,
  };
}

describe("ThreadRoutes", () => {
  it("should send a thread's lines on the connection it first arrived on", async () => {
    const sent: Array<[string, unknown]> = [];
    const routes = new ThreadRoutes();
    const exitWs = routes.enter("t1", fakePeer("ws", sent));
    const exitCs2 = routes.enter("t1", fakePeer("cs2", sent));
    expect(await routes.print("t1", "hello")).to.equal(true);
    expect(sent).to.deep.equal([["ws:workstation.print", { thread: "t1", text: "hello" }]]);
    exitCs2();
    exitWs();
    expect(routes.size).to.equal(0);
  });

  it("should drop a line of a thread that has no invocation here", async () => {
    const routes = new ThreadRoutes();
    expect(await routes.print("t9", "lost")).to.equal(false);
  });

  it("should flush only once every line was delivered", async () => {
    const sent: Array<[string, unknown]> = [];
    const routes = new ThreadRoutes();
    const exit = routes.enter("t1", fakePeer("ws", sent, 20));
    void routes.print("t1", "a");
    void routes.print("t1", "b");
    await routes.flush("t1");
    expect(sent.map((s) => (s[1] as { text: string }).text)).to.deep.equal(["a", "b"]);
    exit();
  });
});
