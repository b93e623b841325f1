/**
 * fillNewFields: the field half of a versioned class upgrade (DESIGN §5).
 *
 * When an object whose class has a newer registered version is first invoked with that
 * version, its isiba (op "upgrade") calls this with the object's store and the new class:
 *
 *   1. the new class's constructor runs with no arguments on a scratch store — fresh,
 *      in-memory pages that fault in as zeros and are never written back — and with no
 *      invocation context, so it can neither lock, bind, print nor invoke anything;
 *   2. every field the scratch object then has and the real object lacks is copied in
 *      (as plain values: containers become new heap containers of the real object).
 *
 * Field initializers always run (they run before the constructor body); a constructor body
 * that needs its arguments or the runtime may throw, which is ignored: the fields assigned
 * before the throw still count. Existing fields are never overwritten and no field is ever
 * removed, so the operation is idempotent — two compute servers upgrading one object (each
 * inside the object's monitor) add each field once.
 *
 * Rules: runs inside an isiba worker (or a unit test); touches only `store` and its scratch.
 */
import { MappedSegment, type PageFaulter } from "../ra-kernel/mapped-segment.js";
import { PageState } from "../ra-kernel/page-state.js";
import { SegmentFrames } from "../ra-kernel/segment-frames.js";
import { SEGMENT_MAX_PAGES } from "../ra-kernel/segment.js";
import type { SysName } from "../ra-kernel/ids.js";
import { constructWith } from "./clouds-object.js";
import { PersistentStore } from "./persistent-store.js";
import { toPlain } from "./to-plain.js";

/** Adds the fields `cls`'s initializers define that `store` lacks; their names. */
export function fillNewFields(store: PersistentStore, cls: new (...args: unknown[]) => unknown): string[] {
  const scratch = scratchStore();
  try {
    constructWith(scratch, () => Reflect.construct(cls, []));
  } catch {
    // A constructor body that needs its arguments or the runtime: keep what ran before it.
  }
  const added: string[] = [];
  for (const name of scratch.names()) {
    if (store.has(name)) continue;
    store.set(name, toPlain(scratch.get(name)));
    added.push(name);
  }
  return added;
}

/** A PersistentStore over zero-filled in-memory pages of its own. */
function scratchStore(): PersistentStore {
  const segment = (name: string, maxPages: number): MappedSegment => {
    const frames = new SegmentFrames(`scratch:${name}` as SysName, maxPages);
    // Every page is private to the scratch: its first fault makes it a writable zero page.
    const faulter: PageFaulter = { fault: (_s, page) => frames.install(page, null, PageState.WRITE) };
    return new MappedSegment(frames.share(), faulter);
  };
  return new PersistentStore(segment("data", SEGMENT_MAX_PAGES.data), segment("heap", SEGMENT_MAX_PAGES.heap));
}
