/**
 * ClientLoop: one torture client — a workstation connection invoking Ledger entries one at a
 * time, at random objects and compute servers, until told to stop; every call goes in the
 * CallLog with its outcome.
 *
 * Mix: add (under the object's lock; half of them in its monitor too, addExclusive) 45 %,
 * append (the client's own log, no lock) 50 %,
 * audit (the ledger invariants, under the lock) 5 %. Four calls in five carry a compute
 * server hint (`ref.at("cs2")`), the rest let the client pick. An audit that returns
 * violations is a finding (`audits`): read under the lock, the ledger must always be whole.
 * After an error the loop pauses a little (the cluster may be repairing) and goes on.
 */
import type { Remote } from "../../shell/client/remote.js";
import type { Ledger } from "../fixtures/ledger.js";
import type { CallKind, CallLog } from "./call-log.js";
import type { Random } from "./random.js";

const PAUSE_AFTER_ERROR_MS = [50, 400] as const;

export interface ClientLoopTarget {
  refs: Remote<Ledger>[];
  computeIds: string[];
}

export class ClientLoop {
  private seq = 0;
  /** Violations returned by audits: "audit of T1 at cs2 (t=12.3s): n is 5 but ...". */
  readonly audits: string[] = [];

  constructor(
    readonly id: number,
    private readonly target: ClientLoopTarget,
    private readonly log: CallLog,
    private readonly random: Random,
  ) {}

  async run(stopped: () => boolean): Promise<void> {
    while (!stopped()) {
      const ok = await this.step();
      if (!ok && !stopped()) await pause(this.random.between(...PAUSE_AFTER_ERROR_MS));
    }
  }

  /** One call; true if it was acknowledged. */
  private async step(): Promise<boolean> {
    const object = this.random.int(this.target.refs.length);
    const draw = this.random.next();
    const kind: CallKind = draw < 0.45 ? "add" : draw < 0.95 ? "append" : "audit";
    const at = this.random.chance(0.8) ? this.random.pick(this.target.computeIds) : undefined;
    const seq = kind === "audit" ? 0 : ++this.seq;
    const exclusive = kind === "add" && this.random.chance(0.5);
    const ref = at ? this.target.refs[object].at(at) : this.target.refs[object];
    const call = { client: this.id, seq, object, kind, ...(exclusive ? { exclusive } : {}), at, startedMs: this.log.now() };
    try {
      const result = await invoke(ref, kind, this.id, seq, exclusive);
      this.log.ack(call, result);
      if (kind === "audit" && Array.isArray(result) && result.length > 0) this.noteAudit(object, at, result as string[]);
      return true;
    } catch (err) {
      this.log.fail(call, err);
      return false;
    }
  }

  private noteAudit(object: number, at: string | undefined, violations: string[]): void {
    const when = (this.log.now() / 1000).toFixed(1);
    for (const v of violations) this.audits.push(`audit of T${object} at ${at ?? "any"} (t=${when}s): ${v}`);
  }
}

function invoke(ref: Remote<Ledger>, kind: CallKind, client: number, seq: number, exclusive: boolean): Promise<unknown> {
  switch (kind) {
    case "add": return exclusive ? ref.addExclusive(client, seq) : ref.add(client, seq);
    case "append": return ref.append(client, seq);
    case "audit": return ref.audit();
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
