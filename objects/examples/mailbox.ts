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
 * `shift()` on a persistent array returns a plain copy of the message it removes. `drain`
 * shows the other safe pattern: views read before a removal stay readable until the entry
 * returns (the heap frees removed values when the invocation ends), and leave as copies.
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
    return this.withLock("queue", () => this.messages.shift());
  }

  /** Takes every waiting message, oldest first. */
  @entry async drain(): Promise<unknown[]> {
    return this.withLock("queue", () => {
      const all = [...this.messages];
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
