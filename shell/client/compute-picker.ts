/**
 * ComputePicker: chooses the compute server for an invocation from local information only
 * (DESIGN §8): an explicit hint wins; otherwise the lighter of two random live servers,
 * by the load each one reported on its latest reply. The list of servers comes from the
 * name server's registry and is refreshed every few seconds or when a server fails.
 */
import type { ServerInfo } from "../../servers/name/protocol.js";
import type { ServerDirectory } from "../../servers/host/server-directory.js";
import { UnknownServerError } from "./errors.js";
import { ServerUnreachableError } from "../../servers/transport/errors.js";

const REFRESH_MS = 3000;

export class ComputePicker {
  private servers: ServerInfo[] = [];
  private fetchedAt = 0;
  private readonly loads = new Map<string, number>();

  constructor(private readonly directory: ServerDirectory) {}

  async pick(hint?: string): Promise<ServerInfo> {
    const servers = await this.list();
    if (hint) {
      const known = servers.some((x) => x.id === hint) ? servers : await this.list(true);
      const s = known.find((x) => x.id === hint);
      if (!s) throw new UnknownServerError(`no compute server '${hint}' (compute servers: ${known.map((x) => x.id).join(", ") || "none"})`, { serverId: hint });
      return s;
    }
    if (servers.length === 0) throw new ServerUnreachableError("no compute server is registered", { peer: "compute", address: "" });
    const a = servers[Math.floor(Math.random() * servers.length)];
    const b = servers[Math.floor(Math.random() * servers.length)];
    return (this.loads.get(a.id) ?? 0) <= (this.loads.get(b.id) ?? 0) ? a : b;
  }

  noteLoad(server: string, running: number): void {
    this.loads.set(server, running);
  }

  /** A server failed: ask the registry again next time. */
  stale(): void {
    this.fetchedAt = 0;
  }

  async list(force = false): Promise<ServerInfo[]> {
    if (force || Date.now() - this.fetchedAt > REFRESH_MS) {
      this.servers = await this.directory.list("compute");
      this.fetchedAt = Date.now();
    }
    return this.servers;
  }
}
