/**
 * WireParser: socket.io's own packet parser, with every message in one websocket frame and
 * room for the binary attachments our messages carry.
 *
 * Stock socket.io sends a message with byte arrays as several engine.io packets: a text
 * header, then one binary frame per attachment. Each is its own websocket frame, written by
 * its own `writev` and — because engine.io writes the next packet only once the previous
 * one drained — in a later event-loop turn, so the receiver wakes once per frame. A commit
 * (its page log) or a page grant thus cost two writes, two wake-ups and two reads on every
 * hop of the hot path.
 *
 * Here a message with attachments is packed into a single binary frame:
 *
 *   0xC5 | u32 header length | header (socket.io's own text encoding, UTF-8) |
 *   per attachment: u32 length | bytes          (lengths big-endian)
 *
 * and the decoder unpacks it and feeds the parts to socket.io's own decoder, so the header's
 * checks (packet type, payload shape, the attachment count and its limit) are socket.io's.
 * Messages without byte arrays, and messages whose attachments are bigger than
 * MAX_PACKED_BYTES in all, are socket.io's frames, unchanged.
 *
 * The stock decoder refuses (and closes the connection on) a packet with more than 10
 * attachments. A write-back of an invocation that dirtied many pages carries one attachment
 * per page, up to the protocol's bound (data.page.commit: 16,384 pages): MAX_ATTACHMENTS.
 *
 * Rules:
 * - Both ends of every connection use this parser (a peer with stock socket.io cannot read
 *   a packed frame). A stock peer's multi-frame binary packets are still decoded.
 * - A malformed frame throws from `add`: socket.io then closes that connection, as it does
 *   for any packet it cannot decode; the server keeps serving the others.
 * - Attachments arrive as views into the frame (Buffers; no copy).
 */
import * as parser from "socket.io-parser";

/** Above the largest count of byte arrays one message may carry (16,384 pages + slack). */
export const MAX_ATTACHMENTS = 16_400;

/**
 * Attachments above this many bytes in all go as socket.io's separate frames: the receiver's
 * frame limit (maxHttpBufferSize) bounds each frame, and a big write-back (up to 16,384 page
 * logs) must not become one frame above it. The hot path's messages are far smaller.
 */
export const MAX_PACKED_BYTES = 1024 * 1024;

/** First byte of a packed frame. (A stock peer's attachment frames arrive while a header waits.) */
export const PACKED_FRAME_MARKER = 0xc5;

const U32 = 4;
/** The packet types (first character of the header) a packed frame may carry. */
const BINARY_TYPES = [String(parser.PacketType.BINARY_EVENT), String(parser.PacketType.BINARY_ACK)];

/** Packs socket.io's header string and attachments (its `encode` output) into one frame. */
export function packFrame(header: string, attachments: readonly Uint8Array[]): Buffer {
  const headerLength = Buffer.byteLength(header);
  let size = 1 + U32 + headerLength;
  for (const a of attachments) size += U32 + a.byteLength;
  const frame = Buffer.allocUnsafe(size);
  frame[0] = PACKED_FRAME_MARKER;
  frame.writeUInt32BE(headerLength, 1);
  let at = 1 + U32 + frame.write(header, 1 + U32, "utf8");
  for (const a of attachments) {
    frame.writeUInt32BE(a.byteLength, at);
    frame.set(a, at + U32);
    at += U32 + a.byteLength;
  }
  return frame;
}

/** The header and attachments of a packed frame; throws naming what is wrong with it. */
export function unpackFrame(frame: Buffer): { header: string; attachments: Buffer[] } {
  if (frame.length < 1 + U32 || frame[0] !== PACKED_FRAME_MARKER) throw new Error("not a packed frame");
  const headerEnd = 1 + U32 + frame.readUInt32BE(1);
  if (headerEnd > frame.length) throw new Error("packed frame: header longer than the frame");
  const header = frame.toString("utf8", 1 + U32, headerEnd);
  const attachments: Buffer[] = [];
  for (let at = headerEnd; at < frame.length; ) {
    if (at + U32 > frame.length) throw new Error("packed frame: truncated attachment length");
    if (attachments.length >= MAX_ATTACHMENTS) throw new Error("packed frame: too many attachments");
    const end = at + U32 + frame.readUInt32BE(at);
    if (end > frame.length) throw new Error("packed frame: attachment longer than the frame");
    attachments.push(frame.subarray(at + U32, end));
    at = end;
  }
  return { header, attachments };
}

class Encoder extends parser.Encoder {
  override encode(obj: parser.Packet): any[] {
    const parts = super.encode(obj);
    if (parts.length <= 1) return parts;
    const attachments = parts.slice(1).map(asBytes);
    if (attachments.reduce((n, a) => n + a.byteLength, 0) > MAX_PACKED_BYTES) return parts;
    return [packFrame(parts[0] as string, attachments)];
  }
}

class Decoder extends parser.Decoder {
  constructor() {
    super({ maxAttachments: MAX_ATTACHMENTS });
  }

  override add(obj: any): void {
    if (!isPackedFrame(obj) || this.reconstructing()) {
      super.add(obj);
      return;
    }
    const { header, attachments } = unpackFrame(asBuffer(obj));
    if (!BINARY_TYPES.includes(header[0])) throw new Error("packed frame: its header is not a binary event or ack");
    super.add(header);
    for (const a of attachments) super.add(a);
    if (this.reconstructing()) {
      (this as unknown as { reconstructor: { finishedReconstruction(): void } | null }).reconstructor?.finishedReconstruction();
      (this as unknown as { reconstructor: null }).reconstructor = null;
      throw new Error("packed frame: fewer attachments than its header declares");
    }
  }

  /** Whether socket.io's decoder waits for the attachments of a header it has read. */
  private reconstructing(): boolean {
    return Boolean((this as unknown as { reconstructor?: unknown }).reconstructor);
  }
}

function isPackedFrame(obj: unknown): boolean {
  if (obj instanceof Uint8Array) return obj.length > 0 && obj[0] === PACKED_FRAME_MARKER;
  if (obj instanceof ArrayBuffer) return obj.byteLength > 0 && new Uint8Array(obj, 0, 1)[0] === PACKED_FRAME_MARKER;
  return false;
}

function asBuffer(obj: Uint8Array | ArrayBuffer): Buffer {
  if (Buffer.isBuffer(obj)) return obj;
  return obj instanceof ArrayBuffer ? Buffer.from(obj) : Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength);
}

/** socket.io's encoder hands attachments over as it found them: Buffer, Uint8Array or ArrayBuffer. */
function asBytes(part: unknown): Uint8Array {
  if (part instanceof Uint8Array) return part;
  if (part instanceof ArrayBuffer) return new Uint8Array(part);
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  throw new Error(`cannot send a ${typeof part} as a binary attachment`);
}

export const wireParser = { protocol: parser.protocol, Encoder, Decoder };
