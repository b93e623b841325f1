/**
 * PageCodec: every page round-trips exactly; zeros cost nothing; a page that would not shrink
 * is stored raw; a blob that breaks the layout is refused with CorruptPageError.
 */
import { expect } from "chai";
import { newSysName, PAGE_SIZE, type ServerId } from "../../../ra-kernel/ids.js";
import { CorruptPageError } from "../../../servers/data/errors.js";
import { decodePage, encodePage } from "../../../servers/data/page-codec.js";
import { rng } from "../../support/rng.js";

const SEGMENT = newSysName("ds1" as ServerId);

function roundTrip(page: Buffer): Buffer {
  return decodePage(encodePage(Buffer.from(page)), SEGMENT, 0);
}

/** A page of zeros with `spans` random non-zero spans (a field table, a heap block...). */
function sparsePage(r: (n: number) => number, spans: number): Buffer {
  const page = Buffer.alloc(PAGE_SIZE);
  for (let s = 0; s < spans; s++) {
    const at = r(PAGE_SIZE), length = 1 + r(64);
    for (let i = at; i < Math.min(PAGE_SIZE, at + length); i++) page[i] = r(4) === 0 ? 0 : 1 + r(255);
  }
  return page;
}

describe("PageCodec", () => {
  it("should store an all-zero page as an empty blob and read it back as a zero page", () => {
    expect(encodePage(Buffer.alloc(PAGE_SIZE))).to.have.length(0);
    expect(decodePage(Buffer.alloc(0), SEGMENT, 0)).to.deep.equal(Buffer.alloc(PAGE_SIZE));
  });

  it("should store a Rectangle-like heap page 0 (header and one block at 1872) in under 64 bytes", () => {
    const page = Buffer.alloc(PAGE_SIZE);
    page.writeUInt32LE(0x50414548, 0);
    page.writeUInt32LE(2, 4);
    page.writeUInt32LE(1904, 8);
    page.writeUInt32LE(2, 12);
    page.writeUInt32LE(0x80000001, 1872);
    page.writeUInt32LE(0x80000001, 1888);
    expect(encodePage(Buffer.from(page)).length).to.be.below(64);
    expect(roundTrip(page)).to.deep.equal(page);
  });

  it("should round-trip random sparse pages exactly, each stored shorter than a page", () => {
    const r = rng(20261205);
    for (let i = 0; i < 500; i++) {
      const page = sparsePage(r, 1 + r(20));
      expect(encodePage(Buffer.from(page)).length, `page ${i}`).to.be.below(PAGE_SIZE);
      expect(roundTrip(page), `page ${i}`).to.deep.equal(page);
    }
  });

  it("should store a page that would not shrink raw, and read a raw page as it is", () => {
    const full = Buffer.alloc(PAGE_SIZE, 7);
    const mixed = Buffer.alloc(PAGE_SIZE);
    for (let i = 0; i < PAGE_SIZE; i += 8) mixed.fill(1 + (i % 250), i, i + 3); // runs of 3, gaps of 5
    expect(encodePage(full)).to.equal(full);
    expect(encodePage(Buffer.from(mixed)).length).to.be.at.most(PAGE_SIZE);
    expect(roundTrip(mixed)).to.deep.equal(mixed);
    expect(decodePage(full, SEGMENT, 0)).to.deep.equal(Buffer.alloc(PAGE_SIZE, 7));
  });

  it("should read the first and last bytes of a page", () => {
    const page = Buffer.alloc(PAGE_SIZE);
    page[0] = 1;
    page[PAGE_SIZE - 1] = 2;
    expect(roundTrip(page)).to.deep.equal(page);
  });

  it("should refuse blobs that break the layout with CorruptPageError", () => {
    const bad = [
      Buffer.from([9, 0, 0, 1, 0, 5]), // unknown layout tag
      Buffer.from([1, 0, 0]), // truncated run header
      Buffer.from([1, 0, 0, 4, 0, 5]), // truncated run
      Buffer.from([1, 0, 0, 0, 0]), // empty run
      Buffer.from([1, 0xff, 0x0f, 2, 0, 5, 5]), // run past the page's end
      Buffer.from([1, 8, 0, 1, 0, 5, 4, 0, 1, 0, 6]), // runs out of order
    ];
    for (const blob of bad) {
      expect(() => decodePage(blob, SEGMENT, 3), blob.toString("hex")).to.throw(CorruptPageError).with.property("page", 3);
    }
  });
});
