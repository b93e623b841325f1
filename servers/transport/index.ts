/** The transport layer: contract, implementations, the peer cache and boundary validation. */
export * from "./transport.js";
export * from "./errors.js";
export * from "./schema.js";
export * from "./envelope.js";
export { BasePeer, type Ack } from "./base-peer.js";
export { SocketIoTransport, MAX_MESSAGE_BYTES } from "./socket-io-transport.js";
export { InMemoryTransport, InMemoryBus, InMemoryPeer, InMemoryServer } from "./in-memory-transport.js";
export { PeerCache, type PeerCacheOptions } from "./peer-cache.js";
