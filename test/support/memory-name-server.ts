/**
 * MemoryNameServer: a NameServer behind the in-memory transport for unit tests of what talks
 * to it (Registration, ServerDirectory), which a test can pause (it stops answering, like a
 * SIGSTOPped process: connections stay open, requests wait), resume, or restart (its
 * connections close and a new NameServer, with the same bindings or none, listens again on
 * the same address).
 *
 *   const ns = await MemoryNameServer.start(bus, { leaseMs: 100 });
 *   const peers = ns.peerCache("cs1");
 *   ns.pause(); ... ns.resume();
 *   await ns.restart({ keepBindings: false });
 *   await ns.close();
 */
import { LamportClock } from "../../ra-kernel/lamport-clock.js";
import { InMemoryNameDirectory } from "../../servers/name/in-memory-name-directory.js";
import { NameServer } from "../../servers/name/name-server.js";
import type { NameServerOptions } from "../../servers/name/name-server-options.js";
import { InMemoryTransport, type InMemoryBus } from "../../servers/transport/in-memory-transport.js";
import { PeerCache } from "../../servers/transport/peer-cache.js";
import type { RequestHandler, TransportServer } from "../../servers/transport/transport.js";
import { deferred, type Deferred } from "./deferred.js";

const TOKEN = "t0k";

export class MemoryNameServer {
  /** Requests received while paused (answered on resume). */
  held = 0;
  private gate: Deferred<void> | null = null;
  private server!: TransportServer;
  private caches: PeerCache[] = [];
  name!: NameServer;
  directory!: InMemoryNameDirectory;

  private constructor(private readonly bus: InMemoryBus, private readonly options: NameServerOptions) {}

  static async start(bus: InMemoryBus, options: NameServerOptions = {}): Promise<MemoryNameServer> {
    const ns = new MemoryNameServer(bus, options);
    await ns.listen(new InMemoryNameDirectory(), 0);
    return ns;
  }

  get address(): string {
    return this.server.address;
  }

  /** A PeerCache of a process named `localId` on the same bus. */
  peerCache(localId: string): PeerCache {
    const cache = new PeerCache(new InMemoryTransport(this.bus, new LamportClock(), localId), { token: TOKEN, localId });
    this.caches.push(cache);
    return cache;
  }

  pause(): void {
    this.gate ??= deferred<void>();
  }

  resume(): void {
    this.gate?.resolve();
    this.gate = null;
  }

  /** Closes every connection and listens again on the same address with fresh leases. */
  async restart(options: { keepBindings: boolean }): Promise<void> {
    const old = { name: this.name, server: this.server };
    await old.server.close();
    // Keeping the bindings keeps the directory: the old NameServer must not close it.
    if (!options.keepBindings) await old.name.close();
    await this.listen(options.keepBindings ? this.directory : new InMemoryNameDirectory(), old.server.port);
  }

  async close(): Promise<void> {
    this.resume();
    await Promise.all(this.caches.map((c) => c.close()));
    await this.server.close();
    await this.name.close();
  }

  private async listen(directory: InMemoryNameDirectory, port: number): Promise<void> {
    this.directory = directory;
    this.name = new NameServer(directory, { clock: new LamportClock(), ...this.options });
    const handler: RequestHandler = async (kind, body, ctx) => {
      if (this.gate) {
        this.held++;
        await this.gate.promise;
      }
      return this.name.handler(kind, body, ctx);
    };
    this.server = await new InMemoryTransport(this.bus, new LamportClock(), "ns1").listen({ host: "ns1", port, token: TOKEN }, handler);
  }
}
