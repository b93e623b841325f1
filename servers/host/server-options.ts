/**
 * Options of one server process (any role), as the `clouds <role>` commands pass them.
 */
import type { ServerId, ServerRole } from "../../ra-kernel/ids.js";

export interface ServerOptions {
  /** This server's id: `ns1`, `ds1`, `cs2`, ... */
  id: ServerId;
  role: ServerRole;
  /** Interface to bind. @default "127.0.0.1" */
  host: string;
  /** Port for socket.io and HTTP (one port). 0 picks a free one. @default 0 */
  port: number;
  /** Directory for this server's state (SQLite files). */
  dir: string;
  /** The cluster token every connection and HTTP call must present. */
  token: string;
  /** "host:port" of the name server (not needed by the name server itself). */
  nameServer?: string;
  /** Compute servers: isiba worker threads. @default 2 */
  workers?: number;
  /** Compute servers: the JavaScript heap of each isiba worker (MiB). @default 1024 */
  workerHeapMb?: number;
  /**
   * Compute servers: the bound of the page cache (MiB): pages outside the working sets are
   * evicted past it (PageCache). @default 256
   */
  cacheMb?: number;
  /**
   * Compute servers: objects kept active (page tables mapped, code loaded in the workers); the
   * least recently used idle ones past it are deactivated (UserObjectManager). @default 2000
   */
  maxActive?: number;
  /** Data servers: "power" (synchronous=FULL, the default) or "process" (synchronous=NORMAL). */
  durability?: "power" | "process";
}
