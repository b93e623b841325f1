/**
 * Mailbox: a queue that many threads, on any compute servers, append to and drain at once.
 *
 *   clouds> load objects/examples/mailbox.ts
 *   clouds> new Mailbox Inbox
 *   clouds> Inbox.send("hello")
 *   1
 *   clouds> @cs2 Inbox.send({ from: "ana", n: 1 })
 *   2
 *   clouds> Inbox.receive()
 *   'hello'
 *   clouds> Inbox.drain()
 *   [ { from: 'ana', n: 1 } ]
 *
 * The messages live in one persistent array. Every change to it happens under the object's
 * lock "queue" (arbitrated by its home), so two threads never take the same message or lose
 * one, whichever compute servers they run on; `size` reads without the lock.
 *
 * A message taken out is copied first: a nested value read from a persistent field is a view
 * of the object's heap, and removing it from the array frees what the view points at.
 */
import { CloudsObject, entry } from "clouds-ts";

export class Mailbox extends CloudsObject {
  messages: unknown[] = [];
  sent = 0;

  /** Appends a message; how many are waiting now. */
  @entry async send(msg: unknown): Promise<number> {
    return this.withLock("queue", () => {
      this.messages.push(msg);
      this.sent++;
      return this.messages.length;
    });
  }

  /** Takes the oldest message, or undefined when the mailbox is empty. */
  @entry async receive(): Promise<unknown> {
    return this.withLock("queue", () => {
      if (this.messages.length === 0) return undefined;
      const msg = copyOf(this.messages[0]);
      this.messages.shift();
      return msg;
    });
  }

  /** Takes every waiting message, oldest first. */
  @entry async drain(): Promise<unknown[]> {
    return this.withLock("queue", () => {
      const all = this.messages.map(copyOf);
      this.messages.length = 0;
      return all;
    });
  }

  @entry size(): number {
    return this.messages.length;
  }

  /** Messages ever sent here. */
  @entry total(): number {
    return this.sent;
  }
}

/** A plain deep copy of a message that may be a view of the heap (references stay references). */
function copyOf(v: unknown): unknown {
  if (typeof v !== "object" || v === null) return v;
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  if (tag === "Uint8Array") return new Uint8Array(v as Uint8Array);
  if (tag === "Date") return new Date((v as Date).getTime());
  if (Array.isArray(v)) return v.map(copyOf);
  if (tag === "Map") return new Map([...(v as Map<unknown, unknown>)].map(([k, x]) => [copyOf(k), copyOf(x)]));
  if (tag === "Set") return new Set([...(v as Set<unknown>)].map(copyOf));
  if (typeof (v as { sysname?: unknown }).sysname === "string") return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) out[k] = copyOf((v as Record<string, unknown>)[k]);
  return out;
}
