/**
 * VirtualSpace: a set of regions, each mapping a segment with a protection (DESIGN §4).
 *
 * Three kinds exist on a compute server:
 *   O space  one per object: code (rx), data (rw), persistent heap (rw), volatile heap (rw)
 *   P space  one per invocation frame: the thread, its depth, the arguments (not persistent)
 *   K space  the kernel's own system objects, shared by every isiba (see Kernel)
 * An isiba executing in an object sees exactly the object's O space and its own P space:
 * the worker is handed only those segments' frames.
 */
import type { Segment } from "./segment.js";

export type Protection = "r" | "rw" | "rx";

export interface Region {
  name: string;
  segment: Segment;
  protection: Protection;
}

export class VirtualSpace {
  private readonly regions = new Map<string, Region>();

  constructor(readonly kind: "O" | "P" | "K", regions: Region[] = []) {
    for (const r of regions) this.map(r);
  }

  map(region: Region): void {
    if (this.regions.has(region.name)) throw new Error(`${this.kind} space: region '${region.name}' is already mapped`);
    this.regions.set(region.name, region);
  }

  region(name: string): Region {
    const r = this.regions.get(name);
    if (!r) throw new Error(`${this.kind} space: no region '${name}'`);
    return r;
  }

  list(): Region[] {
    return [...this.regions.values()];
  }
}
