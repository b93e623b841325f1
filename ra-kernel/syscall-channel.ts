/**
 * SyscallChannel: the worker's end of the syscall channel (object code -> kernel thread).
 *
 * `call(isiba, op, args)` posts a SyscallRequest with a fresh call id and returns a promise;
 * the worker's parentPort listener hands each SyscallReply to `settle`, which resolves (or
 * rejects with the rebuilt named error) the call of that id. Asynchronous on purpose: the
 * isiba awaits, and other isibas of the worker run meanwhile (contrast the FaultChannel,
 * which blocks because field accesses are synchronous).
 *
 * Rules: runs only inside a worker; one channel per worker (call ids are per channel).
 */
import { fromWireError } from "./clouds-error.js";
import { NotTransferableError } from "./errors.js";
import { checkValueSize, cutPrintText } from "./value-size.js";
import type { SyscallArgs, SyscallCall, SyscallOp, SyscallReply, SyscallRequest, SyscallResult } from "./isiba-messages.js";

interface PendingCall {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class SyscallChannel {
  private nextCall = 1;
  private readonly pending = new Map<number, PendingCall>();

  constructor(private readonly post: (req: SyscallRequest) => void) {}

  /** Calls still waiting for the kernel's reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  call<K extends SyscallOp>(isiba: number, op: K, args: SyscallArgs<K>): Promise<SyscallResult<K>> {
    const call = this.nextCall++;
    return new Promise<SyscallResult<K>>((resolve, reject) => {
      this.pending.set(call, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.post({ type: "sys", isiba, call, ...({ op, args: bounded(op, args) } as SyscallCall) });
      } catch (err) {
        this.pending.delete(call);
        if (err instanceof NotTransferableError) return reject(err);
        // Arguments that cannot be cloned (a Proxy, a function): a named error, not the
        // host's DataCloneError (a DOMException, which object code would otherwise catch).
        const what = argumentsOf(op, args);
        reject(new NotTransferableError(`${what} cannot leave the object: ${(err as Error).message}`, { what }));
      }
    });
  }

  /** Settles the call `reply` answers; a reply for an unknown call is ignored. */
  settle(reply: SyscallReply): void {
    const pending = this.pending.get(reply.call);
    if (!pending) return;
    this.pending.delete(reply.call);
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(fromWireError(reply.error ?? { name: "Error", message: "syscall failed" }));
  }
}

/**
 * The syscall's arguments, checked before they are copied into the kernel thread
 * (value-size.ts): those of an invocation or a spawn weigh at most MAX_VALUE_BYTES, a print's
 * text is cut.
 */
function bounded<K extends SyscallOp>(op: K, args: SyscallArgs<K>): SyscallArgs<K> {
  if (op === "thread.print") {
    const { text } = args as SyscallArgs<"thread.print">;
    return (typeof text === "string" ? { text: cutPrintText(text) } : args) as SyscallArgs<K>;
  }
  if (op === "object.invoke" || op === "thread.spawn") checkValueSize((args as { args?: unknown }).args, argumentsOf(op, args));
  return args;
}

/** Whose arguments a syscall carries, for the error when they cannot be posted. */
function argumentsOf(op: SyscallOp, args: unknown): string {
  const entry = (args as { entry?: unknown } | null)?.entry;
  return typeof entry === "string" ? `the arguments of ${entry}()` : `the arguments of ${op}`;
}
