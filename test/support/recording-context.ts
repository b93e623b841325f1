/**
 * RecordingContext: a fake InvocationContext that records the syscalls object code makes
 * (op and arguments, structured-cloned as the worker's postMessage would clone them) and
 * answers each with `reply(op)`. For tests of what leaves an invocation (print, nested
 * invocation arguments) without workers or a kernel.
 */
import { asServerId, newSysName, newThreadId } from "../../ra-kernel/ids.js";
import type { SyscallArgs, SyscallOp, SyscallResult } from "../../ra-kernel/isiba-messages.js";
import type { InvocationContext } from "../../objects/invocation-context.js";

export class RecordingContext implements InvocationContext {
  readonly object = newSysName(asServerId("ds1"));
  readonly thread = { id: newThreadId("test"), depth: 0 };
  readonly calls: Array<{ op: SyscallOp; args: unknown }> = [];

  constructor(private readonly reply: (op: SyscallOp) => unknown = () => ({})) {}

  async syscall<K extends SyscallOp>(op: K, args: SyscallArgs<K>): Promise<SyscallResult<K>> {
    this.calls.push({ op, args: structuredClone(args) });
    return this.reply(op) as SyscallResult<K>;
  }
}
