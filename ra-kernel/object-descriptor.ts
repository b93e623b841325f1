/**
 * ObjectDescriptor and ClassSegment: what the kernel needs to build an object's O space.
 *
 * A descriptor names the object's class (name and version) and the segments of its O space;
 * it is stored by the object's home data server. A ClassSegment is one registered version of
 * a class: its code (the bundle every worker evaluates once) and its entry signatures.
 * Both are immutable once written (an upgrade registers a new class version).
 */
import type { ClassName, ServerId, SysName } from "./ids.js";
import type { EntrySignature } from "../objects/entry-signature.js";

export interface ObjectDescriptor {
  sysname: SysName;
  className: ClassName;
  classVersion: number;
  /** The data server that is home (and DSM directory) of the object's segments. */
  home: ServerId;
  segments: { data: SysName; heap: SysName; volatile: SysName };
  createdAt: number;
}

export interface ClassSegment {
  name: ClassName;
  version: number;
  sysname: SysName;
  code: string;
  entries: EntrySignature[];
  sourceFile: string;
  sourceHash: string;
  registeredAt: number;
}

export function classKey(name: ClassName, version: number): string {
  return `${name}@${version}`;
}
