/**
 * PreparedRecordCodec: a prepared thread's pages round-trip exactly (stamp or none, empty
 * logs, no pages at all); what the layout cannot hold is refused when encoding; a truncated
 * or padded blob is refused when decoding, with an error that names what is wrong.
 */
import { expect } from "chai";
import { newSysName, type ServerId } from "../../../ra-kernel/ids.js";
import { decodePreparedPages, encodePreparedPages } from "../../../servers/data/prepared-record-codec.js";
import type { PreparedPage } from "../../../servers/data/segment-store.js";
import { rng } from "../../support/rng.js";

const HOME = "ds1" as ServerId;

function pages(): PreparedPage[] {
  return [
    { segment: newSysName(HOME), page: 0, log: Uint8Array.from([1, 2, 3]), stamp: 1_700_000_000_123.25 },
    { segment: newSysName(HOME), page: 4_294_967_295, log: new Uint8Array(0) },
    { segment: newSysName(HOME), page: 17, log: Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff), stamp: 0 },
  ];
}

function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected the call to throw");
}

describe("PreparedRecordCodec", () => {
  it("should round-trip pages exactly: a stamp or none, an empty log, the largest page number", () => {
    const given = pages();
    expect(decodePreparedPages(encodePreparedPages(given))).to.deep.equal(given);
  });

  it("should leave `stamp` out of a page that had none", () => {
    const [, noStamp] = decodePreparedPages(encodePreparedPages(pages()));
    expect(noStamp).to.not.have.property("stamp");
  });

  it("should encode no pages as a count of zero, and decode it back", () => {
    const blob = encodePreparedPages([]);
    expect([...blob]).to.deep.equal([0, 0, 0, 0]);
    expect(decodePreparedPages(blob)).to.deep.equal([]);
  });

  it("should round-trip random pages, non-ASCII segment names included", () => {
    const r = rng(20260101);
    for (let n = 0; n < 50; n++) {
      const given = Array.from({ length: r(6) }, (_, i): PreparedPage => ({
        segment: `${newSysName(HOME)}-é${i}` as PreparedPage["segment"],
        page: r(100_000),
        log: Uint8Array.from({ length: r(300) }, () => r(256)),
        ...(r(2) === 0 ? {} : { stamp: r(1_000_000) / 8 }),
      }));
      expect(decodePreparedPages(encodePreparedPages(given)), `case ${n}`).to.deep.equal(given);
    }
  });

  it("should copy: the blob holds the logs as they were, decoded logs do not alias the blob", () => {
    const given = pages();
    const blob = encodePreparedPages(given);
    given[0].log.fill(0);
    const decoded = decodePreparedPages(blob);
    expect([...decoded[0].log]).to.deep.equal([1, 2, 3]);
    decoded[0].log.fill(9);
    expect([...decodePreparedPages(blob)[0].log]).to.deep.equal([1, 2, 3]);
  });

  it("should decode a blob that is a view into a larger buffer", () => {
    const blob = encodePreparedPages(pages());
    const big = new Uint8Array(blob.length + 20);
    big.set(blob, 10);
    expect(decodePreparedPages(big.subarray(10, 10 + blob.length))).to.deep.equal(decodePreparedPages(blob));
  });

  it("should refuse to encode a page number that is not a u32, naming the page", () => {
    for (const page of [-1, 1.5, 2 ** 32, Number.NaN]) {
      const bad = pages();
      bad[2].page = page;
      expect(thrownBy(() => encodePreparedPages(bad)).message, `page ${page}`).to.match(/prepared page 2: page number .* is not a u32/);
    }
  });

  it("should refuse to encode a segment name longer than 65535 bytes", () => {
    const bad = pages();
    bad[0].segment = "s".repeat(65_536) as PreparedPage["segment"];
    expect(thrownBy(() => encodePreparedPages(bad)).message).to.match(/segment name of 65536 bytes/);
  });

  it("should refuse every truncation of a blob, saying what is truncated", () => {
    const blob = encodePreparedPages(pages());
    for (let length = 0; length < blob.length; length++) {
      const err = thrownBy(() => decodePreparedPages(blob.subarray(0, length)));
      expect(err.message, `length ${length}`).to.match(/^prepared pages blob of \d+ bytes is corrupt: truncated /);
    }
    expect(thrownBy(() => decodePreparedPages(blob.subarray(0, 2))).message).to.match(/truncated page count/);
    expect(thrownBy(() => decodePreparedPages(blob.subarray(0, blob.length - 1))).message).to.match(/truncated log of page entry 2/);
  });

  it("should refuse bytes after the last page, and a count larger than the pages present", () => {
    const blob = encodePreparedPages(pages());
    const padded = Buffer.concat([blob, Buffer.from([0])]);
    expect(thrownBy(() => decodePreparedPages(padded)).message).to.match(/1 bytes after the last of 3 page entries/);
    const overCounted = Buffer.from(blob);
    overCounted.writeUInt32LE(4, 0);
    expect(thrownBy(() => decodePreparedPages(overCounted)).message).to.match(/truncated segment length of page entry 3/);
  });
});
