/**
 * PeerRoster: the accepted peers of one TransportServer and its onPeer listeners.
 *
 * Both transports' servers keep the same bookkeeping: a peer joins when it is accepted,
 * leaves when it closes, every listener hears of it (a throwing listener is logged, never
 * allowed to break accepting), and closing the server closes every peer still open.
 */
import createDebug from "debug";
import type { Peer } from "./transport.js";

const log = createDebug("servers:transport");

export class PeerRoster<P extends Peer> {
  private readonly listeners: Array<(peer: Peer) => void> = [];
  /** Accepted peers still open; each removes itself when it closes. */
  private readonly peers = new Set<P>();

  get size(): number {
    return this.peers.size;
  }

  onPeer(listener: (peer: Peer) => void): void {
    this.listeners.push(listener);
  }

  accept(peer: P): void {
    this.peers.add(peer);
    peer.onClose(() => this.peers.delete(peer));
    for (const listener of this.listeners) {
      try {
        listener(peer);
      } catch (err) {
        log("onPeer listener threw: %O", err);
      }
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.peers].map((peer) => peer.close()));
  }
}
