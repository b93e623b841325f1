/**
 * BasePeer: the request/reply machinery both transports share; subclasses only move envelopes.
 *
 * A subclass supplies `send(envelope, id)` (deliver a request; when its reply arrives call
 * `settle(id, reply)`) and `close()`, and feeds every incoming request to `receive(raw, ack)`
 * and the end of its connection to `markClosed(reason)`. BasePeer does the rest: envelope
 * checks, Lamport stamps, pending requests and their timeouts, handler errors as WireErrors,
 * close listeners.
 *
 * Rules:
 * - `receive` never throws and never lets a handler error escape: whatever comes in gets an
 *   error reply (if the sender asked for one) or is dropped.
 * - pending: one entry per request in flight; removed exactly once, by its reply, its timeout,
 *   a failed send, or `markClosed` (which rejects all of them with ServerUnreachableError).
 * - `markClosed` is idempotent; close listeners run once each, with the first reason.
 * - A `timeoutMs` outside 0..2^31-1 (e.g. Infinity) means: wait until the reply or the close.
 */
import createDebug from "debug";
import { fromWireError } from "../../ra-kernel/clouds-error.js";
import type { LamportClock } from "../../ra-kernel/lamport-clock.js";
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  describeThrown,
  errorReply,
  malformedRequest,
  okReply,
  replyProblem,
  requestProblem,
  stampRequest,
  unsendableReply,
} from "./envelope.js";
import { BadRequestError, RequestTimeoutError, ServerUnreachableError, UnknownMessageError } from "./errors.js";
import type { Peer, ReplyEnvelope, RequestEnvelope, RequestHandler, RequestOptions } from "./transport.js";

const log = createDebug("servers:transport");

/** Sends a reply back to the requester; may throw if the reply cannot be serialized. */
export type Ack = (reply: ReplyEnvelope) => void;

/** setTimeout cannot wait longer than this (larger values fire after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface PendingRequest {
  kind: string;
  timeoutMs: number;
  resolve: (body: unknown) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export abstract class BasePeer implements Peer {
  private handler: RequestHandler | undefined;
  /** Requests in flight, by id; see the header for who removes entries. */
  private readonly pending = new Map<number, PendingRequest>();
  private nextId = 1;
  private closeReason: string | undefined;
  private closeListeners: Array<(reason: string) => void> = [];

  constructor(
    readonly remoteId: string,
    readonly address: string,
    protected readonly clock: LamportClock,
    protected readonly localId: string,
  ) {}

  get closed(): boolean {
    return this.closeReason !== undefined;
  }

  /** Delivers a stamped request; its reply must come back through `settle(id, reply)`. */
  protected abstract send(envelope: RequestEnvelope, id: number): void;
  abstract close(): Promise<void>;

  request<T = unknown>(kind: string, body: unknown, options?: RequestOptions): Promise<T> {
    if (this.closeReason !== undefined) return Promise.reject(this.unreachable(kind, this.closeReason));
    const id = this.nextId++;
    const timeoutMs = options?.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const entry: PendingRequest = { kind, timeoutMs, resolve: resolve as (b: unknown) => void, reject, timer: undefined };
      this.pending.set(id, entry);
      if (timeoutMs >= 0 && timeoutMs <= MAX_TIMER_MS) entry.timer = setTimeout(this.onTimeout, timeoutMs, id);
      this.trySend(kind, body, id);
    });
  }

  setHandler(handler: RequestHandler): void {
    this.handler = handler;
  }

  onClose(listener: (reason: string) => void): void {
    const reason = this.closeReason;
    if (reason === undefined) this.closeListeners.push(listener);
    else queueMicrotask(() => this.runListener(listener, reason));
  }

  private trySend(kind: string, body: unknown, id: number): void {
    try {
      this.send(stampRequest(this.clock, kind, body), id);
    } catch (err) {
      this.fail(id, new BadRequestError(`${kind}: body could not be sent: ${describeThrown(err)}`, { kind, field: "body" }));
    }
  }

  /** Called by the subclass with whatever came back for request `id` (late replies are dropped). */
  protected settle(id: number, reply: unknown): void {
    const problem = replyProblem(reply);
    if (problem === undefined) this.clock.observe((reply as ReplyEnvelope).clock);
    const entry = this.take(id);
    if (entry === undefined) return log("late reply %d from %s dropped", id, this.remoteId);
    if (problem !== undefined) {
      entry.reject(new BadRequestError(`${entry.kind}: malformed reply, field '${problem}'`, { kind: entry.kind, field: problem }));
    } else if ((reply as ReplyEnvelope).ok) {
      entry.resolve((reply as ReplyEnvelope).body);
    } else {
      entry.reject(fromWireError((reply as ReplyEnvelope).error!));
    }
  }

  private take(id: number): PendingRequest | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    this.pending.delete(id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    return entry;
  }

  private fail(id: number, err: Error): void {
    this.take(id)?.reject(err);
  }

  private readonly onTimeout = (id: number): void => {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    const { kind, timeoutMs } = entry;
    log("%s to %s timed out after %d ms", kind, this.remoteId, timeoutMs);
    this.fail(id, new RequestTimeoutError(
      `${kind} to ${this.remoteId} (${this.address}) got no reply within ${timeoutMs} ms`,
      { kind, peer: this.remoteId, timeoutMs },
    ));
  };

  /** Called by the subclass for every incoming request; `ack` is absent when no reply is wanted. */
  protected receive(raw: unknown, ack: Ack | undefined): void {
    const problem = requestProblem(raw);
    if (problem !== undefined) {
      log("malformed request from %s: field %s", this.remoteId, problem);
      if (ack !== undefined) this.sendReply(ack, "", errorReply(this.clock, malformedRequest(raw, problem), this.localId));
      return;
    }
    const env = raw as RequestEnvelope;
    this.clock.observe(env.clock);
    this.answer(env, ack);
  }

  private answer(env: RequestEnvelope, ack: Ack | undefined): void {
    let result: unknown;
    try {
      result = this.invoke(env);
      if (isPromiseLike(result)) return void this.answerLater(env.kind, result, ack);
    } catch (err) {
      return this.replyError(env.kind, ack, err);
    }
    this.replyOk(env.kind, ack, result);
  }

  private invoke(env: RequestEnvelope): unknown {
    const handler = this.handler;
    if (handler === undefined) {
      throw new UnknownMessageError(`${env.kind}: no handler on this connection`, { kind: env.kind });
    }
    return handler(env.kind, env.body, { peer: this, clock: env.clock });
  }

  private async answerLater(kind: string, result: PromiseLike<unknown>, ack: Ack | undefined): Promise<void> {
    let body: unknown;
    try {
      body = await result;
    } catch (err) {
      return this.replyError(kind, ack, err);
    }
    this.replyOk(kind, ack, body);
  }

  private replyOk(kind: string, ack: Ack | undefined, body: unknown): void {
    if (ack === undefined || this.closeReason !== undefined) return;
    this.sendReply(ack, kind, okReply(this.clock, body));
  }

  private replyError(kind: string, ack: Ack | undefined, err: unknown): void {
    if (ack === undefined || this.closeReason !== undefined) {
      return log("error answering %s from %s (no reply sent): %O", kind, this.remoteId, err);
    }
    this.sendReply(ack, kind, errorReply(this.clock, err, this.localId));
  }

  /** Sends a reply; one that cannot be serialized (a cycle, a BigInt) is replaced by an error. */
  private sendReply(ack: Ack, kind: string, reply: ReplyEnvelope): void {
    try {
      ack(reply);
    } catch (err) {
      log("reply to %s for %s could not be sent: %O", this.remoteId, kind, err);
      try {
        ack(errorReply(this.clock, unsendableReply(kind, err), this.localId));
      } catch (again) {
        log("error reply to %s for %s could not be sent either: %O", this.remoteId, kind, again);
      }
    }
  }

  /** The end of the connection, whatever caused it. Idempotent. */
  protected markClosed(reason: string): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    log("connection to %s (%s) closed: %s", this.remoteId, this.address, reason);
    for (const id of [...this.pending.keys()]) {
      this.fail(id, this.unreachable(this.pending.get(id)!.kind, reason));
    }
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const listener of listeners) this.runListener(listener, reason);
  }

  private runListener(listener: (reason: string) => void, reason: string): void {
    try {
      listener(reason);
    } catch (err) {
      log("close listener for %s threw: %O", this.remoteId, err);
    }
  }

  private unreachable(kind: string, reason: string): ServerUnreachableError {
    return new ServerUnreachableError(
      `${kind}: connection to ${this.remoteId} at ${this.address} closed (${reason})`,
      { peer: this.remoteId, address: this.address },
    );
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as PromiseLike<unknown>).then === "function";
}
