/**
 * Tests of ServerHost (servers/host/server-host.ts) over real sockets on 127.0.0.1: a peer that
 * connects while the role is still being made (compute servers reconnect at once to a data
 * server that restarts on its port) is attached to the role once it is ready, before any of
 * its requests is handled — a home that never attached a holder could not recall its copies.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ServerHost, type RoleService } from "../../../servers/host/server-host.js";
import { SocketIoTransport } from "../../../servers/transport/socket-io-transport.js";
import { LamportClock } from "../../../ra-kernel/lamport-clock.js";
import { asServerId } from "../../../ra-kernel/ids.js";
import type { Peer } from "../../../servers/transport/transport.js";

describe("ServerHost", () => {
  let dir: string;
  let host: ServerHost | undefined;
  let early: Peer | undefined;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "clouds-host-"));
  });

  afterEach(async () => {
    await early?.close();
    await host?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("should attach a peer that connected while the role was being made, before handling its requests", async () => {
    const attached: string[] = [];
    const handled: string[] = [];
    let request: Promise<unknown> | undefined;
    host = await ServerHost.start({ id: asServerId("ns7"), role: "name", host: "127.0.0.1", port: 0, dir, token: "t0k" }, async (ctx) => {
      // A client connects and sends a request before the role exists.
      early = await new SocketIoTransport(new LamportClock(), "cs9").connect(ctx.address, { token: "t0k", localId: "cs9" });
      request = early.request("probe", {});
      const role: RoleService = {
        handler: async (kind, _body, reqCtx) => {
          handled.push(`${kind} from ${reqCtx.peer.remoteId} (attached: ${attached.join(",")})`);
          return { ok: true };
        },
        attach: (peer) => void attached.push(peer.remoteId),
        status: () => ({}),
        figures: () => ({}),
        close: async () => undefined,
      };
      return role;
    });
    expect(await request).to.deep.equal({ ok: true });
    expect(attached).to.deep.equal(["cs9"]);
    expect(handled).to.deep.equal(["probe from cs9 (attached: cs9)"]);
  });
});
