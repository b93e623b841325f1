/**
 * NameServerPeer: the connection to the name server as ServerDirectory hands it out — every
 * request bounded by a short timeout, and a timeout or a lost connection turned into one
 * clear NameServerUnreachableError ("name server at 127.0.0.1:7000 is unreachable: ...").
 *
 *   const client = new NameClient(new NameServerPeer(peer, 5000, onUnreachable));
 *
 * `onUnreachable` is told each time, with the error (a timeout or a lost connection), so the
 * directory stops waiting for the name server and serves what it knows. `refuse` (optional) is asked before each request: while it returns
 * an error the request fails at once with it, without waiting (the directory refuses while
 * it knows the name server unreachable, and asks again in the background). Errors the name
 * server answers with (NameExistsError...) pass as they are. Must not: retry (a bind may
 * have committed before its reply was lost).
 */
import { NameServerUnreachableError } from "../name/errors.js";
import { RequestTimeoutError, ServerUnreachableError } from "../transport/errors.js";
import type { Peer, RequestHandler, RequestOptions } from "../transport/transport.js";

export class NameServerPeer implements Peer {
  constructor(
    private readonly inner: Peer,
    private readonly timeoutMs: number,
    private readonly onUnreachable: (err: unknown) => void = () => undefined,
    private readonly refuse: () => NameServerUnreachableError | null = () => null,
  ) {}

  get remoteId(): string {
    return this.inner.remoteId;
  }

  get address(): string {
    return this.inner.address;
  }

  get closed(): boolean {
    return this.inner.closed;
  }

  async request<T = unknown>(kind: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    const refusal = this.refuse();
    if (refusal) throw refusal;
    try {
      return await this.inner.request<T>(kind, body, { timeoutMs: options.timeoutMs ?? this.timeoutMs });
    } catch (err) {
      if (!isUnreachable(err)) throw err;
      this.onUnreachable(err);
      throw nameServerUnreachable(this.inner.address, err);
    }
  }

  setHandler(handler: RequestHandler): void {
    this.inner.setHandler(handler);
  }

  onClose(listener: (reason: string) => void): void {
    this.inner.onClose(listener);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** True for what says the name server did not answer (as opposed to answering with an error). */
export function isUnreachable(err: unknown): boolean {
  return err instanceof RequestTimeoutError || err instanceof ServerUnreachableError;
}

export function nameServerUnreachable(address: string, cause: unknown): NameServerUnreachableError {
  if (cause instanceof NameServerUnreachableError) return cause;
  const why = cause instanceof RequestTimeoutError ? `no answer within ${cause.timeoutMs} ms` : (cause as Error)?.message ?? String(cause);
  return new NameServerUnreachableError(`name server at ${address} is unreachable (${why})`, { peer: "name server", address });
}
