/**
 * The runtime's classes whose instances object code is handed: the handles of locks and
 * semaphores, references, the live views of Dates, Maps and Sets in object memory, and the
 * runtime's own Error. The isiba worker hardens them (ra-kernel/hardened-realm.ts), so no
 * class can change their methods for the others; each instance stays its invocation's own.
 *
 * Views of arrays, records and bytes are Proxies over plain targets (frozen intrinsics'
 * instances) and spawners Proxies over `{}`: nothing of theirs is shared. A class added to
 * what the runtime hands out belongs here; test/security/ walks what object code can reach
 * and fails on anything shared and not frozen.
 */
import { Lock } from "./lock.js";
import { Semaphore } from "./semaphore.js";
import { ObjectRef } from "./ref.js";
import { PersistentDate } from "./persistent-date.js";
import { PersistentMapView } from "./persistent-map.js";
import { PersistentSetView } from "./persistent-set.js";
import { StaleViewError } from "./heap-views.js";

export function handedOutClasses(): readonly Function[] {
  return [Lock, Semaphore, ObjectRef, PersistentDate, PersistentMapView, PersistentSetView, StaleViewError];
}
