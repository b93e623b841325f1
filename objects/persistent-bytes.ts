/**
 * PersistentBytes: a Uint8Array in the persistent heap, and its live view.
 *
 * Layout: one heap block   +0 u32 serial (random, odd)   +4 the bytes
 * The cell (ValueCell) holds the block's payload address, the length (aux) and the serial
 * (+12), so a view is made from the cell alone. The serial in the block tells a live block
 * from a freed one (the free list's link written there is a multiple of 16, never odd) or a
 * reused one. A cell whose serial word is 0 was stored before views existed: its block is
 * the bytes alone, and its view reads but refuses writes (assign the field again).
 *
 * Why a Proxy over an empty Uint8Array, not a subclass or a Uint8Array over the frames: an
 * element write `raw[i] += 1` on a real typed array goes straight to its buffer with no hook
 * to run, so a subclass could catch method calls only and would lose that write; and object
 * memory is reached only through MappedSegment accesses (pin, fault, dirty), never through a
 * buffer. The target keeps `instanceof Uint8Array` true (in the realm the view is made in)
 * and Object.prototype.toString says "Uint8Array"; ArrayBuffer.isView and util.types see no
 * typed array, so APIs that need a real one (TextDecoder, DataView) take `raw.slice()`.
 *
 *   raw[i], raw.length          read object memory (undefined past the end)
 *   raw[i] = v, raw[i] += 1     converted as a Uint8Array converts (ToUint8), written through
 *   set, fill                   write only the range they change
 *   subarray(b, e)              a live view of that range of the same block
 *   any other method            runs on a copy of the bytes; the bytes it changed are written
 *                               back (copyWithin, reverse, sort, and callbacks that write to
 *                               the array they are given: that array is the copy). slice,
 *                               map, filter, toSorted... return plain Uint8Arrays.
 *   raw[n] = v past the end, raw.x = v, raw.buffer
 *                               WriteThroughError naming the field: the length is fixed, a
 *                               view has no other properties, and writes through a buffer
 *                               would be lost
 * Assigning the view to a field, passing it or returning it copies the bytes (toPlain).
 *
 * Coherence: a write checks the serial and writes while holding the block's first page
 * (MappedSegment.withPageExclusive); freeing the block writes that word, so a write never
 * lands in a block freed or reused meanwhile. A read checks, then reads: under a racing
 * free it may see old bytes, never another value's. Methods run on a copy are several
 * accesses, not atomic across isibas (hold a lock), like array methods.
 */
import { inspect } from "node:util";
import type { Heap } from "./heap.js";
import { cachedView, newSerial, relative, StaleViewError, toIndex } from "./heap-views.js";
import { WriteThroughError } from "./errors.js";

/** Bytes before the data in a block (the serial). */
const HEADER = 4;

type Method = (this: unknown, ...args: unknown[]) => unknown;

// One element, converted as a Uint8Array element write converts (ToNumber, then modulo 256).
const one = new Uint8Array(1);

/** Copies `bytes` (a Uint8Array or a view) into a new block; returns what its cell holds. */
export function create(heap: Heap, value: unknown): { payload: number; length: number; serial: number } {
  const bytes = handles.get(value as object)?.read() ?? (value as Uint8Array);
  const serial = (newSerial() | 1) >>> 0;
  const payload = heap.alloc(HEADER + bytes.length);
  heap.mem.setU32(payload, serial);
  if (bytes.length > 0) heap.mem.write(payload + HEADER, bytes);
  return { payload, length: bytes.length, serial };
}

/** The live view of the bytes of a cell (cached per heap and block). */
export function view(heap: Heap, payload: number, length: number, serial: number, path: string): Uint8Array {
  return cachedView(heap, payload, serial, () => makeView(new BytesHandle(heap, payload, serial, 0, length, path))) as Uint8Array;
}

const handles = new WeakMap<object, BytesHandle>();

/** The handle behind a bytes view, or undefined for any other value. */
export function bytesHandleOf(value: unknown): BytesHandle | undefined {
  return typeof value === "object" && value !== null ? handles.get(value) : undefined;
}

/** Whether `value` is a bytes view (a Uint8Array to StorableValue, though no typed array to util.types). */
export function isPersistentBytes(value: unknown): boolean {
  return bytesHandleOf(value) !== undefined;
}

/** A range [start, start + length) of the bytes of one block: what a view reads and writes. */
export class BytesHandle {
  constructor(
    readonly heap: Heap,
    readonly block: number,
    readonly serial: number,
    readonly start: number,
    readonly length: number,
    readonly path: string,
  ) {}

  /** Byte `i` (in range). */
  get(i: number): number {
    this.check();
    this.heap.mem.readInto(this.data + i, one);
    return one[0];
  }

  /** Converts `value` as a Uint8Array element write does, then writes it at `i`. */
  set(i: number, value: unknown): void {
    one[0] = value as number;
    if (i >= this.length) throw this.refuse(`${this.path}[${i}]`, `a persistent Uint8Array has a fixed length (${this.length}): index ${i} is past its end`);
    this.write(i, one);
  }

  /** A private copy of `count` bytes from `from` (the whole view by default). */
  read(from = 0, count = this.length - from): Uint8Array {
    this.check();
    return this.heap.mem.read(this.data + from, count);
  }

  /** Writes `bytes` at `at` (in range), the serial checked in the same step. */
  write(at: number, bytes: Uint8Array): void {
    if (this.serial === 0) {
      throw this.refuse(this.path, "this Uint8Array was stored before in-place changes persisted: assign it again (this.x = this.x.slice()) to change it in place");
    }
    const mem = this.heap.mem;
    mem.withPageExclusive(this.block, () => {
      this.check();
      mem.write(this.data + at, bytes);
    });
  }

  /** A live view of [begin, end) of this view (relative indexes, as subarray). */
  sub(begin: unknown, end: unknown): Uint8Array {
    const from = relative(begin, this.length, 0), to = relative(end, this.length, this.length);
    return makeView(new BytesHandle(this.heap, this.block, this.serial, this.start + from, Math.max(to - from, 0), this.path));
  }

  refuse(path: string, why: string): WriteThroughError {
    return new WriteThroughError(`field '${path}': ${why}`, { path });
  }

  /** Address of this view's byte 0. */
  private get data(): number {
    return this.block + (this.serial === 0 ? 0 : HEADER) + this.start;
  }

  private check(): void {
    if (this.serial !== 0 && this.heap.mem.u32(this.block) !== this.serial) throw new StaleViewError("Uint8Array", this.path);
  }
}

function makeView(h: BytesHandle): Uint8Array {
  const target = new Uint8Array(0);
  // util.inspect shows a Proxy's target, not what its traps answer: show the bytes.
  Object.defineProperty(target, inspect.custom, { value: (_depth: number, options: object) => inspect(h.read(), options), configurable: true });
  const proxy = new Proxy(target, {
    get(target, key) {
      if (typeof key === "string") {
        const i = toIndex(key);
        if (i >= 0) return i < h.length ? h.get(i) : undefined;
        if (key === "length" || key === "byteLength") return h.length;
        if (key === "byteOffset") return h.start;
        if (key === "buffer") throw h.refuse(h.path, "a persistent Uint8Array has no ArrayBuffer of its own (writes through one could not persist): use slice() for a copy");
        if (isNumericKey(key)) return undefined;
      }
      return METHODS.get(key) ?? Reflect.get(target, key, target);
    },
    set: (_target, key, value) => store(h, key, value),
    defineProperty(_target, key, desc) {
      if (!("value" in desc)) throw h.refuse(h.path, "accessor properties cannot be persistent");
      return store(h, key, desc.value);
    },
    deleteProperty: (_target, key) => typeof key !== "string" || toIndex(key) < 0 || toIndex(key) >= h.length,
    has(target, key) {
      if (typeof key !== "string") return Reflect.has(target, key);
      const i = toIndex(key);
      return i >= 0 ? i < h.length : !isNumericKey(key) && Reflect.has(target, key);
    },
    ownKeys: () => Array.from({ length: h.length }, (_, i) => String(i)),
    getOwnPropertyDescriptor(_target, key) {
      const i = typeof key === "string" ? toIndex(key) : -1;
      if (i < 0 || i >= h.length) return undefined;
      return { value: h.get(i), writable: true, enumerable: true, configurable: true };
    },
    setPrototypeOf: () => false,
    preventExtensions: () => false,
  });
  handles.set(proxy, h);
  return proxy;
}

/** An element write through the view (the only property a view can be given). */
function store(h: BytesHandle, key: string | symbol, value: unknown): boolean {
  const i = typeof key === "string" ? toIndex(key) : -1;
  if (i >= 0) h.set(i, value);
  else if (typeof key === "string" && isNumericKey(key)) throw h.refuse(`${h.path}[${key}]`, `'${key}' is not an index of a persistent Uint8Array`);
  else throw h.refuse(h.path, `a persistent Uint8Array holds only its bytes, not '${String(key)}'`);
  return true;
}

/** A key a typed array treats as a number (and never as a property): "-1", "1.5", "NaN"... */
function isNumericKey(key: string): boolean {
  return key === "-0" || String(Number(key)) === key;
}

// ---- methods: shared by every view (found through `this`), native on other typed arrays ----

const TYPED_ARRAY = Object.getPrototypeOf(Uint8Array.prototype) as object;

/** Methods that neither change the array nor hand it to a callback: no write-back needed. */
const READING = new Set<PropertyKey>([
  "at", "includes", "indexOf", "lastIndexOf", "join", "slice", "toLocaleString", "toString",
  "toReversed", "toSorted", "with", "entries", "keys", "values", Symbol.iterator, "toBase64", "toHex",
]);

type Special = (h: BytesHandle, args: unknown[], self: unknown) => unknown;

/** Methods with a meaning of their own on a view (not run on a copy); each returns what the native one does. */
const SPECIAL: ReadonlyMap<PropertyKey, Special> = new Map<PropertyKey, Special>([
  ["set", (h, [source, offset]) => setFrom(h, source, offset)],
  ["fill", (h, [value, start, end], self) => (fillRange(h, value, start, end), self)],
  ["subarray", (h, [begin, end]) => h.sub(begin, end)],
]);

/** `raw.set(source, offset)`: converts the source as Uint8Array.prototype.set does, writes that range. */
function setFrom(h: BytesHandle, source: unknown, offset: unknown): undefined {
  if (source === null || source === undefined) throw new TypeError(`field '${h.path}': set() needs an array or typed array, not ${String(source)}`);
  const src = bytesHandleOf(source)?.read() ?? source;
  const off = offset === undefined ? 0 : Math.trunc(Number(offset)) || 0;
  const length = Math.max(Math.trunc(Number((Object(src) as { length?: unknown }).length)) || 0, 0);
  const bytes = new Uint8Array(length);
  bytes.set(src as ArrayLike<number>);
  if (off < 0 || off + length > h.length) throw new RangeError(`field '${h.path}': offset is out of bounds`);
  if (length > 0) h.write(off, bytes);
  return undefined;
}

/** `raw.fill(value, start, end)`: writes only [start, end). */
function fillRange(h: BytesHandle, value: unknown, start: unknown, end: unknown): void {
  one[0] = value as number; // converted first, as fill does, also for an empty range
  const from = relative(start, h.length, 0), to = relative(end, h.length, h.length);
  if (to > from) h.write(from, new Uint8Array(to - from).fill(one[0]));
}

/** Runs `native` on a copy of the bytes; writes back the bytes it changed (also if it threw). */
function onCopy(h: BytesHandle, native: Method, args: unknown[], self: unknown): unknown {
  const before = h.read();
  const copy = before.slice();
  try {
    const result = native.apply(copy, args);
    return result === copy ? self : result;
  } finally {
    writeChanges(h, before, copy);
  }
}

/** Writes the span of `after` that differs from `before`, if any. */
function writeChanges(h: BytesHandle, before: Uint8Array, after: Uint8Array): void {
  let first = 0, last = after.length - 1;
  while (first <= last && before[first] === after[first]) first++;
  if (first > last) return;
  while (before[last] === after[last]) last--;
  h.write(first, after.subarray(first, last + 1));
}

function method(key: PropertyKey, native: Method): Method {
  const special = SPECIAL.get(key);
  const reading = READING.has(key);
  const fn = function (this: unknown, ...args: unknown[]): unknown {
    const h = handles.get(this as object);
    if (!h) return native.apply(this, args);
    if (special) return special(h, args, this);
    return reading ? native.apply(h.read(), args) : onCopy(h, native, args, this);
  };
  Object.defineProperty(fn, "name", { value: typeof key === "symbol" ? `[${key.description}]` : key });
  return fn;
}

/** Every method of Uint8Array and %TypedArray%, as a view answers it. */
const METHODS: ReadonlyMap<PropertyKey, Method> = new Map(
  [Uint8Array.prototype, TYPED_ARRAY].flatMap((proto) => Reflect.ownKeys(proto).flatMap((key) => {
    const desc = Object.getOwnPropertyDescriptor(proto, key);
    return key !== "constructor" && typeof desc?.value === "function" ? [[key, method(key, desc.value as Method)] as const] : [];
  })),
);
