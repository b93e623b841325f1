import { expect } from "chai";
import * as parser from "socket.io-parser";
import { MAX_ATTACHMENTS, MAX_PACKED_BYTES, PACKED_FRAME_MARKER, packFrame, unpackFrame, wireParser } from "../../../servers/transport/wire-parser.js";

/** Feeds frames to a fresh decoder; resolves what it decoded (throws what it threw). */
function decodeAll(frames: unknown[]): parser.Packet[] {
  const decoder = new wireParser.Decoder();
  const out: parser.Packet[] = [];
  decoder.on("decoded", (p: parser.Packet) => out.push(p));
  for (const f of frames) decoder.add(f);
  return out;
}

function bytes(n: number, fill: number): Buffer {
  return Buffer.alloc(n, fill);
}

describe("wireParser", () => {
  it("should send a message with byte arrays as one binary frame and decode it back whole", () => {
    const data = ["req", { kind: "commit", pages: [{ page: 1, bytes: bytes(4096, 1) }, { page: 2, bytes: bytes(0, 0) }, { page: 3, bytes: new Uint8Array([9, 8]) }] }];
    const frames = new wireParser.Encoder().encode({ type: parser.PacketType.EVENT, nsp: "/", id: 12, data });
    expect(frames).to.have.length(1);
    expect(Buffer.isBuffer(frames[0])).to.equal(true);
    expect(frames[0][0]).to.equal(PACKED_FRAME_MARKER);

    const [packet] = decodeAll(frames);
    expect(packet.type).to.equal(parser.PacketType.EVENT);
    expect(packet.id).to.equal(12);
    const body = packet.data[1];
    expect(body.pages.map((p: { bytes: Uint8Array }) => Buffer.from(p.bytes))).to.deep.equal([bytes(4096, 1), bytes(0, 0), Buffer.from([9, 8])]);
  });

  it("should pack an ack with bytes too, and leave messages without bytes as socket.io text", () => {
    const encoder = new wireParser.Encoder();
    const ack = encoder.encode({ type: parser.PacketType.ACK, nsp: "/", id: 3, data: [{ ok: true, body: { bytes: bytes(10, 7) } }] });
    expect(ack).to.have.length(1);
    expect(decodeAll(ack)[0]).to.deep.include({ type: parser.PacketType.ACK, id: 3 });
    const text = encoder.encode({ type: parser.PacketType.EVENT, nsp: "/", id: 4, data: ["req", { kind: "ping" }] });
    expect(text).to.deep.equal(['24["req",{"kind":"ping"}]']);
  });

  it("should still decode a stock peer's header-then-attachments packets", () => {
    const stock = new parser.Encoder().encode({ type: parser.PacketType.EVENT, nsp: "/", id: 5, data: ["req", { a: bytes(3, 1), b: bytes(2, 2) }] });
    expect(stock).to.have.length(3);
    const [packet] = decodeAll(stock);
    expect(Buffer.from(packet.data[1].a)).to.deep.equal(bytes(3, 1));
    expect(Buffer.from(packet.data[1].b)).to.deep.equal(bytes(2, 2));
  });

  it("should leave a message with more than MAX_PACKED_BYTES of attachments in socket.io's frames, each under the frame limit", () => {
    const pages = Array.from({ length: MAX_PACKED_BYTES / 4096 + 1 }, (_, i) => bytes(4096, i & 0xff));
    const frames = new wireParser.Encoder().encode({ type: parser.PacketType.EVENT, nsp: "/", id: 1, data: ["req", pages] });
    expect(frames).to.have.length(pages.length + 1);
    const [packet] = decodeAll(frames);
    expect(packet.data[1]).to.have.length(pages.length);
    expect(Buffer.from(packet.data[1][7])).to.deep.equal(bytes(4096, 7));
  });

  it("should carry more attachments than socket.io's limit of 10 (a big write-back)", () => {
    const pages = Array.from({ length: 1000 }, (_, i) => bytes(16, i & 0xff));
    const frames = new wireParser.Encoder().encode({ type: parser.PacketType.EVENT, nsp: "/", id: 1, data: ["req", pages] });
    expect(decodeAll(frames)[0].data[1]).to.have.length(1000);
  });

  describe("a malformed packed frame is refused, naming what is wrong", () => {
    const good = () => new wireParser.Encoder().encode({ type: parser.PacketType.EVENT, nsp: "/", id: 1, data: ["req", { b: bytes(8, 1), c: bytes(8, 2) }] })[0] as Buffer;
    const cases: Array<[string, () => Buffer, RegExp]> = [
      ["truncated inside an attachment", () => good().subarray(0, good().length - 3), /attachment longer than the frame/],
      ["truncated inside a length", () => good().subarray(0, good().length - 10), /truncated attachment length/],
      ["a header longer than the frame", () => { const f = Buffer.from(good()); f.writeUInt32BE(1e6, 1); return f; }, /header longer than the frame/],
      ["one attachment missing", () => packFrame(unpackFrame(good()).header, unpackFrame(good()).attachments.slice(0, 1)), /fewer attachments than its header declares/],
      ["one attachment too many", () => packFrame(unpackFrame(good()).header, [...unpackFrame(good()).attachments, bytes(1, 1)]), /not reconstructing/],
      ["a text packet's header", () => packFrame('2["req",{}]', [bytes(1, 1)]), /not a binary event or ack/],
      ["a header that is not socket.io's", () => packFrame("51-nonsense", [bytes(1, 1)]), /invalid payload|Unexpected token|JSON/i],
      ["just the marker", () => Buffer.from([PACKED_FRAME_MARKER]), /not a packed frame/],
    ];
    for (const [what, frame, message] of cases) {
      it(`${what}`, () => {
        expect(() => decodeAll([frame()])).to.throw(message);
      });
    }

    it("and the decoder, fresh, decodes the next good frame", () => {
      expect(decodeAll([good()])[0].data[1].c).to.have.length(8);
    });
  });

  it("should refuse a frame of more attachments than MAX_ATTACHMENTS before reading them all", () => {
    const many = packFrame("51-[]", Array.from({ length: MAX_ATTACHMENTS + 1 }, () => new Uint8Array(0)));
    expect(() => unpackFrame(many)).to.throw(/too many attachments/);
  });
});
