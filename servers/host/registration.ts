/**
 * Registration: keeps a server registered under /sys/servers/<id> while it runs, also
 * across a restart of the name server.
 *
 *   const registration = new Registration(peers, nameServer, info);
 *   await registration.start();   // registered once; the server serves from now on
 *   ...
 *   registration.stop();          // before closing the peers
 *
 * After the first registration it watches its connection to the name server. When that
 * closes (the name server stopped, crashed, or is being restarted by `clouds up`), it
 * registers again, retrying with a growing delay (RETRY_FIRST_MS .. RETRY_MAX_MS) until it
 * succeeds, then watches the new connection. Registering is idempotent (a rebind of the
 * same path), so registering again with a name server that kept its bindings is harmless,
 * and one that lost them learns them back. /metrics counts the registrations.
 */
import createDebug from "debug";
import { NameClient, type ServerInfo } from "../name/protocol.js";
import type { PeerCache } from "../transport/peer-cache.js";
import type { Peer } from "../transport/transport.js";
import type { Figures } from "./metrics.js";

const log = createDebug("servers:host");

const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2_000;

export class Registration {
  /** The connection whose close triggers registering again (at most one watched at a time). */
  private watched: Peer | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Registrations done: 1 after start, one more each time it registered again. */
  private count = 0;

  constructor(
    private readonly peers: PeerCache,
    private readonly nameServer: string,
    private readonly info: ServerInfo,
  ) {}

  async start(): Promise<void> {
    await this.register();
  }

  /** For /metrics: `clouds_name_registrations_total` (above 1: it registered again). */
  figures(): Figures {
    return { name_registrations_total: this.count };
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async register(): Promise<void> {
    const peer = await this.peers.get(this.nameServer);
    await new NameClient(peer).registerServer(this.info);
    this.count++;
    this.watch(peer);
  }

  private watch(peer: Peer): void {
    if (this.watched === peer) return;
    this.watched = peer;
    peer.onClose((reason) => {
      log("%s: name server connection closed (%s); registering again", this.info.id, reason);
      this.retry(RETRY_FIRST_MS);
    });
  }

  private retry(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.register().then(
        () => log("%s: registered again with the name server at %s", this.info.id, this.nameServer),
        () => this.retry(Math.min(delayMs * 2, RETRY_MAX_MS)),
      );
    }, delayMs);
    this.timer.unref();
  }
}
