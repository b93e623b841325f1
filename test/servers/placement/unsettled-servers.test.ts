/**
 * Tests of UnsettledServers (servers/placement/unsettled-servers.ts): which failures make a
 * server unsettled, and which returns settle it — not one that set out before it was lost
 * again.
 */
import { expect } from "chai";
import { MAX_UNSETTLED, UnsettledServers } from "../../../servers/placement/unsettled-servers.js";
import { RequestTimeoutError, ServerUnreachableError } from "../../../servers/transport/errors.js";
import { NameServerUnreachableError } from "../../../servers/name/errors.js";

const lostAt = (peer: string) => new ServerUnreachableError(`connection to ${peer} closed`, { peer, address: "a" });

describe("UnsettledServers", () => {
  it("should remember the server a ServerUnreachableError names, and nothing for other errors", () => {
    const u = new UnsettledServers();
    u.note(new Error("the entry threw"));
    u.note(new RequestTimeoutError("slow", { kind: "compute.invoke", peer: "cs3", timeoutMs: 1 }));
    u.note(lostAt(""));
    // The name server: not a holder of pages, and not a server id a compute server accepts in `after`.
    u.note(new NameServerUnreachableError("name server at 127.0.0.1:1 is unreachable", { peer: "name server", address: "127.0.0.1:1" }));
    expect(u.snapshot().ids).to.deep.equal([]);
    u.note(lostAt("cs2"));
    u.note(lostAt("cs2"));
    expect(u.snapshot().ids).to.deep.equal(["cs2"]);
  });

  it("should settle the servers a returned call carried, but not one lost again after it set out", () => {
    const u = new UnsettledServers();
    u.note(lostAt("cs1"));
    u.note(lostAt("cs2"));
    const snap = u.snapshot();
    u.note(lostAt("cs2")); // lost again while the call carrying it was out
    u.settled(snap);
    expect(u.snapshot().ids).to.deep.equal(["cs2"]);
    u.settled(u.snapshot());
    expect(u.size).to.equal(0);
  });

  it("should keep at most MAX_UNSETTLED servers, dropping the oldest", () => {
    const u = new UnsettledServers();
    for (let i = 0; i <= MAX_UNSETTLED; i++) u.note(lostAt(`cs${i}`));
    const ids = u.snapshot().ids;
    expect(ids).to.have.length(MAX_UNSETTLED);
    expect(ids).to.not.include("cs0");
    expect(ids).to.include(`cs${MAX_UNSETTLED}`);
  });
});
