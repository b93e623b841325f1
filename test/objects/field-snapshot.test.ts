/**
 * Tests of fieldSnapshot (objects/field-snapshot.ts): an object's persistent fields as plain
 * data, containers followed to a depth and cut after a number of items (each with its size),
 * read through the views without calling the class's code.
 */
import { expect } from "chai";
import { CloudsObject } from "../../objects/clouds-object.js";
import { fieldSnapshot } from "../../objects/field-snapshot.js";
import { newStore } from "../support/object-memory.js";
import { createIn, selfOf } from "../support/persistent-objects.js";

class Sample extends CloudsObject {
  n = 7;
  label = "box";
  list: unknown[] = [1, [2, [3, [4]]]];
  byName = new Map<string, { wins: number }>([["ana", { wins: 2 }]]);
  tags = new Set(["a", "b"]);
  when = new Date(1_700_000_000_000);
  raw = new Uint8Array([1, 2, 3]);
  cfg = { limits: { max: 3 } };
  nothing: string | null = null;

  get loud(): string {
    throw new Error("a getter of the class must not run");
  }
}

describe("fieldSnapshot", () => {
  it("should give every persistent field as plain data, running no class code", () => {
    const t = newStore();
    createIn(t.store, Sample);
    expect(fieldSnapshot(t.store)).to.deep.equal({
      n: 7, label: "box", list: [1, [2, [3, "Array(1)"]]], byName: new Map([["ana", { wins: 2 }]]), tags: new Set(["a", "b"]),
      when: new Date(1_700_000_000_000), raw: new Uint8Array([1, 2, 3]), cfg: { limits: { max: 3 } }, nothing: null,
    });
  });

  it("should follow containers as deep as asked, and show deeper ones by kind and size", () => {
    const t = newStore();
    createIn(t.store, Sample);
    const snap = fieldSnapshot(t.store, { depth: 0 });
    expect([snap.list, snap.byName, snap.tags, snap.cfg]).to.deep.equal(["Array(2)", "Map(1)", "Set(2)", "Object{1 field}"]);
    expect(fieldSnapshot(t.store, { depth: 10 }).list).to.deep.equal([1, [2, [3, [4]]]]);
  });

  it("should cut a big container after maxItems items and say how many more there are", () => {
    const t = newStore();
    createIn(t.store, Sample);
    const self = selfOf(t.store, Sample) as unknown as Sample;
    for (let i = 0; i < 500; i++) self.list.push(i);
    self.raw = new Uint8Array(300).fill(9);
    const snap = fieldSnapshot(t.store, { maxItems: 100 });
    const list = snap.list as unknown[];
    expect(list).to.have.length(101);
    expect(list[100]).to.equal("… 402 more items (502 in all)");
    const [bytes, more] = snap.raw as [Uint8Array, string];
    expect([bytes.length, more]).to.deep.equal([100, "… 200 more bytes (300 in all)"]);
  });
});
