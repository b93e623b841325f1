/**
 * DataView's float setters as V8 ships them, taken before an isiba worker locks its realm
 * down. SES's lockdown replaces DataView.prototype.setFloat64 (and 32) with a function that
 * canonicalizes NaN in JavaScript first (a covert channel between compartments through NaN
 * payloads): ~10x slower, on every number written to object memory and every write's page
 * stamp. The runtime's own writes use these; object code still gets the tamed ones.
 *
 * Callers canonicalize a NaN that came from object code (`value !== value ? NaN : value`),
 * so object memory never keeps a payload either. Importing this module before lockdown is
 * what makes it work: the isiba worker imports everything before it locks down.
 */
const nativeSetFloat64 = DataView.prototype.setFloat64;

/** `view.setFloat64(at, value, littleEndian)`, untamed. */
export function setFloat64(view: DataView, at: number, value: number, littleEndian: boolean): void {
  nativeSetFloat64.call(view, at, value, littleEndian);
}
