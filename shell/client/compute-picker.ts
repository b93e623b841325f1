/**
 * ComputePicker: the workstation's half of placement (DESIGN §8) — where each invocation
 * and creation from here runs, decided from local information only.
 *
 *   const picker = new ComputePicker({ directory, peers, workstation, options });
 *   picker.start();                                   // registry reads + report subscriptions
 *   await picker.run({ thread, depth: 0, object, entry, hint }, attempt);   // see Placer
 *   picker.onReport(report)                           // a compute.load pushed to us
 *
 * What it knows lives in a LoadTable fed by: the registry (read every registryRefreshMs; a
 * failed read changes nothing, so placement goes on while the name server is unreachable),
 * the LoadReports of every compute server it knows (it subscribes on its connection to
 * each; reports also carry the members their sender knows), and each invocation's reply
 * (the server's load and the target's warm pages there). The policy is WorkingSetPlacement
 * unless `policy: "random"` (UniformRandomPlacement, for comparisons). Decisions are kept
 * per thread in `decisions`. A hint names a compute server; an unknown one is refused with
 * UnknownServerError listing those registered, one registered but down with
 * ServerUnreachableError saying so.
 */
import createDebug from "debug";
import type { ServerId } from "../../ra-kernel/ids.js";
import type { ServerDirectory } from "../../servers/host/server-directory.js";
import type { PeerCache } from "../../servers/transport/peer-cache.js";
import type { Peer } from "../../servers/transport/transport.js";
import { LoadTable } from "../../servers/placement/load-table.js";
import { DecisionLog } from "../../servers/placement/decision-log.js";
import { openPeer, Placer, type Attempt, type PlacedCall } from "../../servers/placement/placer.js";
import { NotDeliveredError } from "../../servers/placement/errors.js";
import { WorkingSetPlacement } from "../../servers/placement/working-set-placement.js";
import { UniformRandomPlacement } from "../../servers/placement/uniform-random-placement.js";
import type { LoadReport } from "../../servers/placement/load-report.js";
import type { PlacementPolicy } from "../../servers/placement/placement-policy.js";
import { decodeLoadReport } from "../../servers/compute/protocol.js";
import type { ClientPlacementOptions } from "./connect-options.js";
import { UnknownServerError } from "./errors.js";
import { ServerUnreachableError } from "../../servers/transport/errors.js";

const log = createDebug("shell:client:placement");

/** How long a subscription request may take before the next refresh tries again (ms). */
const SUBSCRIBE_TIMEOUT_MS = 5000;

export interface ComputePickerDeps {
  directory: ServerDirectory;
  peers: PeerCache;
  workstation: string;
  options?: ClientPlacementOptions;
}

export class ComputePicker {
  readonly table: LoadTable;
  readonly decisions: DecisionLog;
  readonly placer: Placer;
  /** Connections our subscription was sent on (a reconnected peer is a new Peer: subscribed again). */
  private readonly subscribed = new WeakSet<Peer>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  constructor(private readonly deps: ComputePickerDeps) {
    const { policy, ...options } = deps.options ?? {};
    this.table = new LoadTable(options);
    this.decisions = new DecisionLog(options);
    this.placer = new Placer({
      by: deps.workstation, table: this.table, policy: makePolicy(policy, options), log: this.decisions,
      refresh: () => this.refresh(), resolve: (id) => this.resolveHint(id), onDead: (id) => deps.directory.forget(id),
    });
  }

  /** Reads the registry now and then every registryRefreshMs, subscribing to each server found. */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.refresh(), this.table.options.registryRefreshMs);
    this.timer.unref();
    return this.refresh();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Where a call would go now (no connection, nothing recorded): for tests and tools. */
  async pick(hint?: string, object?: PlacedCall["object"]): Promise<{ server: ServerId; address: string; reason: string }> {
    const d = await this.placer.decide({ thread: "", depth: 0, entry: "", object, hint: hint as ServerId | undefined });
    const address = this.table.addressOf(d.server) ?? (await this.resolveHint(d.server));
    return { server: d.server, address, reason: d.reason };
  }

  run<T>(call: PlacedCall, attempt: Attempt<T>): Promise<T> {
    return this.placer.run(call, attempt);
  }

  /** A report a compute server pushed to us (compute.load). */
  onReport(body: unknown): void {
    const report: LoadReport = decodeLoadReport("compute.load", (body as { report?: unknown })?.report as Record<string, unknown> ?? {});
    this.table.merge(report);
  }

  /** Subscribes to reports on `peer` (once per connection), in the background. */
  subscribe(server: ServerId, peer: Peer): void {
    if (this.subscribed.has(peer) || peer.closed) return;
    this.subscribed.add(peer);
    peer.request<unknown>("compute.subscribe", {}, { timeoutMs: SUBSCRIBE_TIMEOUT_MS }).then(
      (report) => this.onReport({ report }),
      (err) => {
        this.subscribed.delete(peer);
        log("subscription to %s failed: %s", server, (err as Error).message);
      },
    );
  }

  /** The registry's compute servers into the table, then (not awaited) a subscription to each live one. One read at a time. */
  refresh(): Promise<void> {
    this.reading ??= this.readRegistry().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readRegistry(): Promise<void> {
    try {
      for (const s of await this.deps.directory.list("compute")) this.table.noteMember(s.id, s.address);
    } catch (err) {
      log("registry not read (placement goes on with what is known): %s", (err as Error).message);
    }
    // In the background: a server that is slow to answer must not hold up placement.
    for (const c of this.table.candidates()) void this.connect(c.id, c.address);
  }

  private async connect(id: ServerId, address: string): Promise<void> {
    try {
      this.subscribe(id, await openPeer(this.deps.peers, id, address));
    } catch (err) {
      if (err instanceof NotDeliveredError) this.table.markDead(id);
      log("cannot subscribe to %s: %s", id, (err as Error).message);
    }
  }

  /** The address of a hinted server the table does not know: the registry's, or UnknownServerError. */
  private async resolveHint(id: ServerId): Promise<string> {
    const computes = await this.deps.directory.list("compute");
    for (const s of computes) this.table.noteMember(s.id, s.address);
    const s = computes.find((x) => x.id === id);
    if (s) return s.address;
    // Registered but down (its lease ran out): say so, rather than that it does not exist.
    const down = (await this.deps.directory.registry()).servers.find((x) => x.id === id && x.role === "compute");
    if (down) throw new ServerUnreachableError(`compute server ${id} is down (${down.stateReason}); repair it with 'clouds up', or call without '@${id}'`, { peer: id, address: down.address });
    throw new UnknownServerError(`no compute server '${id}' (compute servers: ${computes.map((x) => x.id).join(", ") || "none"})`, { serverId: id });
  }
}

function makePolicy(name: ClientPlacementOptions["policy"], options: ClientPlacementOptions): PlacementPolicy {
  return name === "random" ? new UniformRandomPlacement() : new WorkingSetPlacement(options);
}
