/**
 * DataViews whose float setters are V8's own, for the runtime's writes to object memory.
 *
 * SES's lockdown (hardened-realm.ts) replaces DataView.prototype.setFloat64 (and 32) with a
 * function that canonicalizes NaN in JavaScript first (against a covert channel between
 * compartments through NaN payloads): ~10x slower, on every number written to object
 * memory and on every write's page stamp. A `nativeFloatView` has a prototype of its own,
 * made before lockdown, that holds the original setters (called as methods, so V8 inlines
 * them); object code never gets one, and still gets the tamed DataView.
 *
 * The runtime canonicalizes a NaN that came from object code itself (`v !== v ? NaN : v`),
 * so object memory keeps no payload either. This module must load before lockdown: the
 * isiba worker imports everything before it locks down.
 */
/** The byte order of this machine's typed arrays (what a DataView must use to match them). */
export const NATIVE_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const nativeFloatProto: DataView = Object.create(DataView.prototype, {
  setFloat64: { value: DataView.prototype.setFloat64 },
  setFloat32: { value: DataView.prototype.setFloat32 },
});

/** `new DataView(buffer, byteOffset, byteLength)` with V8's own float setters. */
export function nativeFloatView(buffer: ArrayBufferLike, byteOffset?: number, byteLength?: number): DataView {
  const view = new DataView(buffer, byteOffset, byteLength);
  Object.setPrototypeOf(view, nativeFloatProto);
  return view;
}
