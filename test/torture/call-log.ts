/**
 * CallLog: every invocation the torture clients made, with its outcome — the record the
 * final states are compared with (ledger-verdict.ts).
 *
 * A call is identified by (client, seq): seq counts the client's updates, so an update is
 * never sent twice. A call is *acknowledged* when its invocation returned a value; one that
 * threw keeps the error's class name, message and the server it came from. Errors are never
 * acknowledgements, whatever they say.
 */
import { outcomeOf, type Outcome } from "./call-outcomes.js";

export type CallKind = "add" | "append" | "audit";

export interface CallRecord {
  client: number;
  /** The client's update number (audits: 0). */
  seq: number;
  /** Index of the Ledger object. */
  object: number;
  kind: CallKind;
  /** An add made inside the object's monitor too (Ledger.addExclusive). */
  exclusive?: boolean;
  /** The compute server hint, if any. */
  at?: string;
  startedMs: number;
  endedMs: number;
  ok: boolean;
  result?: unknown;
  error?: { name: string; message: string; server?: string; outcome: Outcome };
}

export class CallLog {
  readonly calls: CallRecord[] = [];
  private readonly t0 = performance.now();

  /** Milliseconds since the log was made. */
  now(): number {
    return performance.now() - this.t0;
  }

  ack(call: Omit<CallRecord, "ok" | "endedMs" | "error">, result: unknown): CallRecord {
    return this.push({ ...call, ok: true, result, endedMs: this.now() });
  }

  fail(call: Omit<CallRecord, "ok" | "endedMs" | "error">, err: unknown): CallRecord {
    const e = err as { name?: string; message?: string; server?: string };
    const name = typeof e?.name === "string" ? e.name : "non-error";
    const message = typeof e?.message === "string" ? e.message : String(err);
    return this.push({ ...call, ok: false, endedMs: this.now(), error: { name, message, server: e?.server, outcome: outcomeOf(name, message, e?.server) } });
  }

  private push(record: CallRecord): CallRecord {
    this.calls.push(record);
    return record;
  }

  acknowledged(kind?: CallKind): number {
    return this.calls.filter((c) => c.ok && (!kind || c.kind === kind)).length;
  }

  failed(): CallRecord[] {
    return this.calls.filter((c) => !c.ok);
  }

  /** Failed calls by error class name. */
  errorsByClass(): Map<string, number> {
    const out = new Map<string, number>();
    for (const c of this.failed()) out.set(c.error!.name, (out.get(c.error!.name) ?? 0) + 1);
    return new Map([...out].sort((a, b) => b[1] - a[1]));
  }
}
