/**
 * PersistentDate: the Date read from a persistent field, array element or object/Map value:
 * a real Date (a subclass) whose every `set*` writes the new time value through to its cell.
 *
 * A Date lives inline in its 16-byte cell (tag DATE, aux a serial, the f64 time value), with
 * no heap block of its own, and cells move (array edits, table rebuilds). So the view keeps
 * where to find its cell again, never its address: the cell's owner (the PersistentStore,
 * array or table holding it: ValueCell `CellOwner`) and the key there (field name, index,
 * property or Map key); and the serial the cell had when read (random, made each time a
 * Date is stored), which tells this Date from another one stored or moved there since.
 *
 *   getters (getTime, toISOString, valueOf, `+d`, ...) first re-read the cell, so a change
 *       made through another view or by another thread is seen; a Date no longer in its
 *       cell keeps the value it last had.
 *   setters (every set* method, UTC ones and setYear) re-read, apply, then write the new
 *       time value holding the cell's page (MappedSegment.withPageExclusive: the check and
 *       the write are one step). If the cell no longer holds this Date (the field was
 *       reassigned, the key deleted, the element moved by shift/splice/sort...), the Date
 *       gets its old value back and StaleViewError names the path: a change is never
 *       dropped silently.
 *
 * Why a subclass and not a Proxy: a Date has no properties to assign, only methods, so
 * overriding them catches every change, and a subclass stays a real Date (util.types.isDate,
 * structured clone, `instanceof Date` in the realm it is made in). What it cannot catch:
 * `Date.prototype.setTime.call(d, t)` goes around the override (as Map.prototype methods go
 * around PersistentMap): call the method on the Date. A PersistentDate made with `new` (as
 * libraries clone a Date: `new d.constructor(+d)`) is an ordinary, unattached Date.
 * Assigning the Date to a field, passing it or returning it copies its time value (toPlain).
 */
import { scratchBytes, scratchView } from "../ra-kernel/mapped-segment.js";
import { Tag, type CellOwner } from "./value-cell.js";
import { newSerial, StaleViewError } from "./heap-views.js";

const getTime = Date.prototype.getTime;
const setTime = Date.prototype.setTime;
const MOVED = "its field or element was reassigned or deleted, or an array edit (shift, splice, sort...) moved it";

const cell = scratchBytes(16); // CELL_SIZE (not yet defined here: value-cell imports this module)
const cellView = scratchView(cell);

/** Where a Date view's cell is: see the header. `serial` changes once, when a legacy cell (0) gets one. */
interface Site {
  readonly owner: CellOwner;
  readonly key: unknown;
  readonly path: string;
  serial: number;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

export class PersistentDate extends Date {
  #site: Site | undefined;

  /** The live Date of the cell `key` of `owner`, holding `time`, with the cell's `serial`. */
  static attach(time: number, owner: CellOwner, key: unknown, serial: number, path: string): PersistentDate {
    const date = new PersistentDate(time);
    date.#site = { owner, key, serial, path };
    return date;
  }

  /** Each Date method, re-reading the cell first and, for a setter, writing it after. */
  static {
    for (const key of Reflect.ownKeys(Date.prototype)) {
      const native = Object.getOwnPropertyDescriptor(Date.prototype, key)?.value as Method | undefined;
      if (key === "constructor" || typeof native !== "function") continue;
      const setter = typeof key === "string" && key.startsWith("set");
      const fn = function (this: unknown, ...args: unknown[]): unknown {
        const site = this instanceof PersistentDate ? this.#site : undefined;
        if (site === undefined) return native.apply(this, args);
        refresh(this as Date, site);
        return setter ? writeThrough(this as Date, site, native, args) : native.apply(this, args);
      };
      Object.defineProperty(fn, "name", { value: typeof key === "symbol" ? `[${key.description}]` : key });
      Object.defineProperty(PersistentDate.prototype, key, { value: fn, writable: true, configurable: true, enumerable: false });
    }
  }
}

/** Whether `value` is a Date read from object memory (StorableValue takes it as a Date). */
export function isPersistentDate(value: unknown): value is PersistentDate {
  return value instanceof PersistentDate;
}

/** Gives `date` its cell's time value, if the cell still holds it. */
function refresh(date: Date, site: Site): void {
  let addr: number;
  try {
    addr = site.owner.cellAddr(site.key);
  } catch (err) {
    if (err instanceof StaleViewError) return; // the container holding it is gone: keep the value
    throw err;
  }
  if (addr < 0) return;
  site.owner.cellMem.readInto(addr, cell);
  if (holdsThis(site)) setTime.call(date, cellView.getFloat64(8, true));
}

/** Runs the setter, then writes the new time value to the cell; on failure restores `date`. */
function writeThrough(date: Date, site: Site, native: Method, args: unknown[]): unknown {
  const before = getTime.call(date);
  const result = native.apply(date, args);
  try {
    writeTime(site, getTime.call(date));
  } catch (err) {
    setTime.call(date, before);
    throw err;
  }
  return result;
}

/** Writes `time` into the site's cell, checking in the same step that it still holds this Date. */
function writeTime(site: Site, time: number): void {
  const addr = site.owner.cellAddr(site.key);
  if (addr < 0) throw new StaleViewError("Date", site.path, MOVED);
  const mem = site.owner.cellMem;
  mem.withPageExclusive(addr, () => {
    mem.readInto(addr, cell);
    if (!holdsThis(site)) throw new StaleViewError("Date", site.path, MOVED);
    if (site.serial === 0) site.serial = newSerial(); // a cell stored before Dates had serials
    cellView.setUint32(4, site.serial, true);
    cellView.setFloat64(8, time !== time ? NaN : time, true);
    mem.write(addr, cell);
  });
}

/** Whether the scratch `cell` is the site's Date. */
function holdsThis(site: Site): boolean {
  return cellView.getUint32(0, true) === Tag.DATE && cellView.getUint32(4, true) === site.serial;
}
