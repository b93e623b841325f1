/**
 * WireParser: socket.io's own packet parser, with room for the binary attachments our
 * messages carry.
 *
 * A socket.io packet keeps each Uint8Array as a separate binary attachment, and the stock
 * decoder refuses (and closes the connection on) a packet with more than 10 of them. A
 * write-back of an invocation that dirtied many pages carries one attachment per page, up
 * to the protocol's bound (data.page.commit: 16,384 pages), so both ends of every
 * connection use this parser. Only the limit changes: the encoding is socket.io's.
 */
import * as parser from "socket.io-parser";

/** Above the largest count of byte arrays one message may carry (16,384 pages + slack). */
export const MAX_ATTACHMENTS = 16_400;

class Decoder extends parser.Decoder {
  constructor() {
    super({ maxAttachments: MAX_ATTACHMENTS });
  }
}

export const wireParser = { protocol: parser.protocol, Encoder: parser.Encoder, Decoder };
