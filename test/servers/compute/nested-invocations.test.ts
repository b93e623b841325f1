/**
 * Tests of NestedInvocations (servers/compute/nested-invocations.ts) over a real Placer and
 * fake connections: a nested call lost with its server reaches the calling object code only
 * once that server was settled at the homes, and the next nested call carries it (`after`).
 */
import { SpawnedThreads } from "../../../servers/compute/spawned-threads.js";
import { expect } from "chai";
import { newSysName, type ServerId, type ThreadId } from "../../../ra-kernel/ids.js";
import type { SyscallContext } from "../../../ra-kernel/isiba-pool.js";
import { NestedInvocations } from "../../../servers/compute/nested-invocations.js";
import { DecisionLog } from "../../../servers/placement/decision-log.js";
import { LoadTable } from "../../../servers/placement/load-table.js";
import { Placer } from "../../../servers/placement/placer.js";
import { WorkingSetPlacement } from "../../../servers/placement/working-set-placement.js";
import { ServerUnreachableError } from "../../../servers/transport/errors.js";
import type { PeerCache } from "../../../servers/transport/peer-cache.js";
import type { Peer } from "../../../servers/transport/transport.js";
import type { ServerDirectory } from "../../../servers/host/server-directory.js";
import type { ThreadRoutes } from "../../../servers/compute/thread-routes.js";
import { expectRejection } from "../../support/expect-rejection.js";

const cs1 = "cs1" as ServerId;
const cs3 = "cs3" as ServerId;
const target = newSysName("ds1" as ServerId);
const from: SyscallContext = { isiba: 1, object: newSysName("ds1" as ServerId), thread: "ws:t1" as ThreadId, depth: 0, entry: "run", since: 0 } as SyscallContext;

describe("NestedInvocations", () => {
  it("should settle a server lost with a nested call before the caller hears of it, and carry it on the next call", async () => {
    const events: string[] = [];
    const table = new LoadTable();
    table.noteMember(cs1, "a1");
    table.noteMember(cs3, "a3");
    const placer = new Placer({ by: "cs1", here: cs1, table, policy: new WorkingSetPlacement(), log: new DecisionLog() });
    const lostPeer = {
      closed: false,
      remoteId: "cs3",
      request: async () => { throw new ServerUnreachableError("connection to cs3 closed (transport close)", { peer: "cs3", address: "a3" }); },
    } as unknown as Peer;
    const nested = new NestedInvocations({
      id: cs1, servers: {} as ServerDirectory, routes: {} as ThreadRoutes, placer,
      peers: { get: async () => lostPeer } as unknown as PeerCache,
      runLocal: async () => (events.push("ran here"), 42),
      atomicOf: () => undefined,
      deadlineOf: () => undefined,
      spawned: new SpawnedThreads(),
      settle: async (after) => void events.push(`settle ${after.join(",")}`),
      noteHere: () => undefined,
      noteReply: () => undefined,
    });
    const err = await expectRejection(nested.invoke(from, { target, entry: "m", args: [], at: "cs3" }), ServerUnreachableError);
    events.push(`caller saw: ${err.message}`);
    expect(await nested.invoke(from, { target, entry: "m", args: [], at: "cs1" })).to.deep.equal({ value: 42, server: "cs1" });
    expect(events).to.deep.equal([
      "settle cs3",
      "caller saw: connection to cs3 closed (transport close)",
      "settle cs3",
      "ran here",
    ]);
  });
});
