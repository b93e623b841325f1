/**
 * Page states of a compute server's cached copy of a page, kept in the shared page table
 * (one Int32 per page, see SegmentFrames). The order matters: a state grants every access
 * the states below it grant, so "may I read?" is `state >= READ`.
 *
 *   INVALID  no usable copy here: any access faults
 *   READ     a copy that may be read (other compute servers may hold copies too)
 *   WRITE    a copy that may be read and written
 *
 * Who changes it: only the kernel thread of the compute server, with Atomics.store, after
 * the frame's bytes are in place (so an isiba that sees READ sees the bytes too).
 * Isibas only read it (Atomics.load) and fault when it is too low.
 */
export const PageState = {
  INVALID: 0,
  READ: 1,
  WRITE: 2,
} as const;

export type PageState = (typeof PageState)[keyof typeof PageState];

/** How an access wants a page: what a fault asks for. */
export type AccessMode = "read" | "write";

export function stateFor(mode: AccessMode): PageState {
  return mode === "write" ? PageState.WRITE : PageState.READ;
}
