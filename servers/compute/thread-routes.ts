/**
 * ThreadRoutes: how a compute server sends a thread's output back to the workstation that
 * started it (DESIGN §6: output is routed to the thread's origin).
 *
 * Every compute.invoke arrives on a connection: from the workstation (depth 0) or from the
 * compute server one hop up the thread's chain. While an invocation of thread T runs here,
 * `enter(T, peer)` records that connection; `print(T, text)` sends `workstation.print
 * {thread, text}` on it, and each compute server up the chain forwards it the same way
 * until it reaches the workstation. A thread present here several times (A -> B -> A
 * across servers) uses the connection it FIRST arrived on: following first arrivals only
 * goes back in time, so it never loops.
 *
 *   const exit = routes.enter(thread, peer);
 *   try { ...run...; await routes.flush(thread); } finally { exit(); }
 *
 * `flush` waits until every line printed so far by the thread here was delivered: the
 * invocation's reply leaves after its output, so the workstation shows it first.
 *
 * Rules: a line for a thread with no route here (it already returned) is dropped and
 * logged; delivery failures are logged, never thrown (output must not fail an invocation).
 */
import createDebug from "debug";
import type { Peer } from "../transport/transport.js";

const log = createDebug("servers:compute:print");

interface Route {
  /** Connections the thread's invocations here arrived on, oldest first. */
  arrivals: Peer[];
  /** Lines sent and not yet acknowledged. */
  inFlight: Set<Promise<boolean>>;
}

export class ThreadRoutes {
  private readonly routes = new Map<string, Route>();

  /** Threads with an invocation running here. */
  get size(): number {
    return this.routes.size;
  }

  /** Records that an invocation of `thread` arrived on `peer`; call the result when it ends. */
  enter(thread: string, peer: Peer): () => void {
    let route = this.routes.get(thread);
    if (!route) this.routes.set(thread, (route = { arrivals: [], inFlight: new Set() }));
    route.arrivals.push(peer);
    const r = route;
    return () => {
      const at = r.arrivals.indexOf(peer);
      if (at >= 0) r.arrivals.splice(at, 1);
      if (r.arrivals.length === 0 && this.routes.get(thread) === r) this.routes.delete(thread);
    };
  }

  /**
   * A thread spawned here by `parent` (SpawnedThreads): its lines go where the parent's go,
   * by the connection the parent arrived on, even after the parent's frame here ended. Call
   * the result when the child ended.
   */
  adopt(child: string, parent: string): () => void {
    const peer = this.routes.get(parent)?.arrivals[0];
    if (!peer) {
      log("thread %s spawned by %s, which has no route here: its lines will be dropped", child, parent);
      return () => undefined;
    }
    return this.enter(child, peer);
  }

  /** The connection towards the thread's workstation, if an invocation of it runs here. */
  peerOf(thread: string): Peer | undefined {
    return this.routes.get(thread)?.arrivals[0];
  }

  /** Sends a line towards the thread's workstation; resolves with whether it got there. */
  print(thread: string, text: string): Promise<boolean> {
    const route = this.routes.get(thread);
    const peer = route?.arrivals[0];
    if (!route || !peer) {
      log("line of thread %s dropped: no invocation of it runs here", thread);
      return Promise.resolve(false);
    }
    const sent = peer.request<{ delivered?: boolean }>("workstation.print", { thread, text }).then(
      (r) => r?.delivered !== false,
      (err: Error) => {
        log("line of thread %s not delivered to %s: %s", thread, peer.remoteId, err.message);
        return false;
      },
    );
    route.inFlight.add(sent);
    void sent.finally(() => route.inFlight.delete(sent));
    return sent;
  }

  /** Resolves once every line `thread` printed here so far was delivered (or failed). */
  async flush(thread: string): Promise<void> {
    const route = this.routes.get(thread);
    if (route && route.inFlight.size > 0) await Promise.all([...route.inFlight]);
  }
}
