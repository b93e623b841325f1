/**
 * Registration: keeps a server registered — and its lease renewed — under /sys/servers/<id>
 * while it runs, also across a restart of the name server.
 *
 *   const registration = new Registration(peers, nameServer, info);
 *   await registration.start();   // registered once; the server serves from now on
 *   ...
 *   registration.stop();          // before closing the peers
 *
 * The name server's registry view shows a server up only while its lease runs (ServerRegistry,
 * servers/name/server-registry.ts). So every `renewMs`, from this process's event loop, it
 * sends `name.renew` (a few bytes; at most one in flight). When that is refused (the name
 * server restarted and knows no lease) or the connection to the name server closed, it
 * registers again — at the next tick, so while the name server is away it tries every
 * `renewMs` until it succeeds. Registering is idempotent (a rebind of the same path), so
 * registering again with a name server that kept its bindings is harmless, and one that lost
 * them learns them back. /metrics counts the registrations and the renewals.
 *
 * Must not: renew from a worker thread or a timer that outlives `stop()`; the renewal is the
 * evidence that this event loop is responsive.
 */
import createDebug from "debug";
import { NameClient, type ServerInfo } from "../name/protocol.js";
import type { PeerCache } from "../transport/peer-cache.js";
import type { Peer } from "../transport/transport.js";
import type { Figures } from "./metrics.js";
import { RequestTimeoutError } from "../transport/errors.js";

const log = createDebug("servers:host");

export interface RegistrationOptions {
  /** How often the lease is renewed; the name server's lease must be several times longer. @default 500 */
  renewMs?: number;
  /** How long one renewal or registration may take before the next tick tries again. @default 2000 */
  requestTimeoutMs?: number;
  /**
   * Told after each renewal or registration whether the name server answered, so the
   * process's ServerDirectory learns of an outage without an invocation waiting for it.
   * @default nothing
   */
  onNameServer?: (answered: boolean) => void;
}

export class Registration {
  /** The connection registered over; undefined: register at the next tick. */
  private registeredOver: Peer | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** A renewal or registration under way: ticks skip rather than pile up. */
  private busy = false;
  private stopped = false;
  private readonly renewMs: number;
  private readonly timeoutMs: number;
  private readonly onNameServer: (answered: boolean) => void;
  /** Registrations done: 1 after start, one more each time it registered again. */
  private count = 0;
  private renewals = 0;

  constructor(
    private readonly peers: PeerCache,
    private readonly nameServer: string,
    private readonly info: ServerInfo,
    options: RegistrationOptions = {},
  ) {
    this.renewMs = options.renewMs ?? 500;
    this.timeoutMs = options.requestTimeoutMs ?? 2000;
    this.onNameServer = options.onNameServer ?? (() => undefined);
  }

  /** Registers once (throws if that fails), then keeps the lease renewed. */
  async start(): Promise<void> {
    await this.register();
    if (this.stopped) return;
    this.timer = setInterval(() => this.tick(), this.renewMs);
    this.timer.unref();
  }

  /** For /metrics: registrations (above 1: it registered again) and lease renewals. */
  figures(): Figures {
    return { name_registrations_total: this.count, name_lease_renewals_total: this.renewals };
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private tick(): void {
    if (this.busy || this.stopped) return;
    this.busy = true;
    const step = this.registeredOver && !this.registeredOver.closed ? this.renew(this.registeredOver) : this.register();
    step.then(
      () => this.onNameServer(true),
      (err: unknown) => {
        log("%s: lease upkeep failed (%s); trying again", this.info.id, (err as Error)?.message);
        // Slow is not gone: only a lost connection makes the name server unreachable here.
        if (!(err instanceof RequestTimeoutError)) this.onNameServer(false);
      },
    ).finally(() => (this.busy = false));
  }

  private async register(): Promise<void> {
    const peer = await this.peers.get(this.nameServer);
    await new NameClient(peer).registerServer(this.info, { timeoutMs: this.timeoutMs });
    this.count++;
    if (this.count > 1) log("%s: registered again with the name server at %s", this.info.id, this.nameServer);
    this.watch(peer);
  }

  private async renew(peer: Peer): Promise<void> {
    const renewed = await new NameClient(peer).renew(this.info.id, this.info.address, { timeoutMs: this.timeoutMs });
    if (renewed) this.renewals++;
    else await this.register();
  }

  private watch(peer: Peer): void {
    if (this.registeredOver === peer) return;
    this.registeredOver = peer;
    peer.onClose((reason) => {
      if (this.registeredOver !== peer) return;
      log("%s: name server connection closed (%s); registering again", this.info.id, reason);
      this.registeredOver = undefined;
    });
  }
}
