/**
 * Builders of SegmentStore test data: objects with their segments, recognisable pages,
 * class records. No mocha or chai here: the crash-test child process imports it too.
 */
import { newSysName, PAGE_SIZE, type ServerId } from "../../ra-kernel/ids.js";
import type { ClassRecord, ObjectDescriptor, SegmentRecord } from "../../servers/data/segment-store.js";

export const HOME = "ds1" as ServerId;

export interface ObjectFixture {
  desc: ObjectDescriptor;
  segments: SegmentRecord[];
}

/** A descriptor and its three segments (data, heap, volatile), `maxPages` each. */
export function newObject(maxPages = 16, className = "Rectangle"): ObjectFixture {
  const sysname = newSysName(HOME);
  const seg = (role: "data" | "heap" | "volatile"): SegmentRecord => ({
    sysname: newSysName(HOME),
    object: sysname,
    role,
    maxPages,
    createdAt: Date.now(),
  });
  const segments = [seg("data"), seg("heap"), seg("volatile")];
  const desc: ObjectDescriptor = {
    sysname,
    className,
    classVersion: 1,
    home: HOME,
    segments: { data: segments[0].sysname, heap: segments[1].sysname, volatile: segments[2].sysname },
    createdAt: Date.now(),
  };
  return { desc, segments };
}

/** A page whose bytes are all `fill` (or a pattern built from it). */
export function pageOf(fill: number): Uint8Array {
  const bytes = new Uint8Array(PAGE_SIZE);
  for (let i = 0; i < PAGE_SIZE; i++) bytes[i] = (fill + i) & 0xff;
  return bytes;
}

export function newClass(name: string, version: number): ClassRecord {
  return {
    name,
    version,
    sysname: newSysName(HOME),
    code: `/* ${name} v${version} */ exports.${name} = class {};`,
    entries: [
      {
        name: "size",
        exclusive: false,
        params: [
          { name: "x", type: "number", optional: false, rest: false },
          { name: "y", type: "number", optional: true, rest: false },
        ],
      },
      { name: "area", exclusive: true, params: [] },
      { name: "any", exclusive: false, params: null },
    ],
    sourceFile: `objects/examples/${name.toLowerCase()}.ts`,
    sourceHash: `hash-${name}-${version}`,
    registeredAt: Date.now(),
  };
}
