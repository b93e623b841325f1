/**
 * ComputeServer: the compute server role — a Ra kernel (K space) serving invocations.
 *
 * The K space holds the kernel's system objects, shared by every isiba: the DsmClient
 * (page cache and partition), the IsibaPool (workers), the UserObjectManager (O spaces and
 * entry points) and DataHomes (the link to the data servers). `handler` answers the compute
 * protocol: invocations and object creation from workstations, invalidations from homes.
 * Each invocation's reply leaves only after its dirty pages were committed at their homes.
 */
import createDebug from "debug";
import { DsmClient } from "../../ra-kernel/dsm-client.js";
import { IsibaPool } from "../../ra-kernel/isiba-pool.js";
import { UserObjectManager } from "../../ra-kernel/user-object-manager.js";
import type { ServerId, ThreadId } from "../../ra-kernel/ids.js";
import type { RequestContext } from "../transport/transport.js";
import type { HostContext, RoleService } from "../host/server-host.js";
import { eventLoopLagMs, type Figures } from "../host/metrics.js";
import { decodeComputeRequest, type ComputeLoad, type ComputeReplies, type ComputeRequest, type ComputeStatus } from "./protocol.js";
import { DataHomes } from "./data-homes.js";
import { DeadlineExceededError } from "./errors.js";
import { ServerUnreachableError } from "../transport/errors.js";

const log = createDebug("servers:compute");

export class ComputeServer implements RoleService {
  readonly dsm: DsmClient;
  readonly pool: IsibaPool;
  readonly objects: UserObjectManager;
  private readonly homes: DataHomes;
  private invocations = 0;
  private nextHome = 0;

  constructor(private readonly ctx: HostContext) {
    if (!ctx.servers) throw new Error("a compute server needs --name-server");
    this.homes = new DataHomes(ctx.peers, ctx.servers);
    this.dsm = new DsmClient(this.homes);
    this.homes.bindDsm(this.dsm);
    this.pool = new IsibaPool(ctx.options.workers ?? 2, this.dsm.fault, ctx.options.id);
    this.objects = new UserObjectManager(this.pool, this.dsm, this.homes);
  }

  get id(): ServerId {
    return this.ctx.options.id;
  }

  readonly handler = async (kind: string, body: unknown, _ctx: RequestContext): Promise<unknown> => {
    return this.handle(decodeComputeRequest(kind, body));
  };

  private async handle(req: ComputeRequest): Promise<ComputeReplies[keyof ComputeReplies]> {
    switch (req.kind) {
      case "compute.invoke": return this.invoke(req);
      case "compute.create": return this.create(req);
      case "compute.invalidate":
        this.dsm.invalidate(req.pages);
        return { invalidated: req.pages.length };
      case "compute.status": return this.status();
    }
  }

  private async invoke(req: Extract<ComputeRequest, { kind: "compute.invoke" }>): Promise<ComputeReplies["compute.invoke"]> {
    if (req.deadline !== undefined && Date.now() > req.deadline) {
      throw new DeadlineExceededError(`${req.entry}: deadline passed before it could run on ${this.id}`, { entry: req.entry });
    }
    this.invocations++;
    const value = await this.objects.invoke({ object: req.target, entry: req.entry, args: req.args, thread: { id: req.thread, depth: req.depth } });
    return { value, server: this.id, load: this.load() };
  }

  private async create(req: Extract<ComputeRequest, { kind: "compute.create" }>): Promise<ComputeReplies["compute.create"]> {
    const cls = await this.homes.classSegment(req.className, req.classVersion);
    const home = req.home ?? (await this.pickHome());
    const data = await this.homes.client(home);
    const descriptor = await data.call("data.object.create", { className: cls.name, classVersion: cls.version });
    try {
      await this.objects.construct(descriptor, req.args, { id: req.thread as ThreadId, depth: 0 });
    } catch (err) {
      await data.call("data.object.delete", { sysname: descriptor.sysname }).catch(() => undefined);
      throw err;
    }
    log("created %s (%s) at home %s", descriptor.sysname, descriptor.className, home);
    return { descriptor, server: this.id };
  }

  /** Round-robin over the registered data servers. */
  private async pickHome(): Promise<ServerId> {
    const data = await this.ctx.servers!.list("data");
    if (data.length === 0) throw new ServerUnreachableError("no data server is registered", { peer: "data", address: "" });
    data.sort((a, b) => a.id.localeCompare(b.id));
    return data[this.nextHome++ % data.length].id;
  }

  load(): ComputeLoad {
    return { running: this.pool.inProgress, lagMs: eventLoopLagMs() };
  }

  status(): ComputeStatus {
    return {
      serverId: this.id, load: this.load(), objects: this.objects.loadedObjects().length,
      cachedPages: this.dsm.cachedPages(), workers: this.ctx.options.workers ?? 2,
      counters: { invocations: this.invocations, ...this.dsm.counters },
    };
  }

  figures(): Figures {
    const s = this.status();
    const out: Figures = { isibas_running: s.load.running, objects_loaded: s.objects, pages_cached: s.cachedPages };
    for (const [k, v] of Object.entries(s.counters)) out[`compute_${k}_total`] = v;
    return out;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
