/**
 * Tests of the named ids (ra-kernel/ids.ts): sysname format and uniqueness, the ULID time
 * prefix, the checks that turn strings into ids, and homeOf.
 */
import { expect } from "chai";
import {
  asServerId,
  asSysName,
  homeOf,
  isServerId,
  isSysName,
  newSysName,
  newThreadId,
  newUlid,
  type ServerId,
} from "../../ra-kernel/ids.js";

const CROCKFORD_26 = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const ds1 = "ds1" as ServerId;

describe("ids", () => {
  describe("newSysName", () => {
    it("should print sys:<home>: and 26 Crockford base32 characters", () => {
      const s = newSysName(ds1);
      expect(s).to.match(/^sys:ds1:[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(isSysName(s)).to.equal(true);
    });

    it("should never repeat over 10,000 names", () => {
      const names = new Set<string>();
      for (let i = 0; i < 10_000; i++) names.add(newSysName(ds1));
      expect(names.size).to.equal(10_000);
    });
  });

  describe("newUlid", () => {
    it("should encode the time in its first 10 characters as the ULID spec does", () => {
      expect(newUlid(1469918176385).slice(0, 10)).to.equal("01ARYZ6S41");
      expect(newUlid(0).slice(0, 10)).to.equal("0000000000");
      expect(newUlid(1469918176385)).to.match(CROCKFORD_26);
    });

    it("should sort by creation time", () => {
      const times = [0, 1, 31, 32, 1_000, 1_700_000_000_000, 1_700_000_000_001, 2 ** 48 - 1];
      const ulids = times.map((t) => newUlid(t));
      expect([...ulids].sort()).to.deep.equal(ulids);
      const shuffled = [ulids[5], ulids[0], ulids[7], ulids[2]];
      expect(shuffled.sort()).to.deep.equal([ulids[0], ulids[2], ulids[5], ulids[7]]);
    });

    it("should give distinct ids at one instant, across refills of its pool of random bytes", () => {
      const ids = new Set(Array.from({ length: 2000 }, () => newUlid(1469918176385))); // 2000 x 16 bytes: several 4 KiB pools
      expect(ids.size).to.equal(2000);
    });

    it("should use only Crockford characters in its random part", () => {
      const seen = new Set<string>();
      for (let i = 0; i < 500; i++) for (const c of newUlid().slice(10)) seen.add(c);
      for (const c of seen) expect("ILOU".includes(c), c).to.equal(false);
      expect(seen.size).to.equal(32);
    });
  });

  describe("isSysName / asSysName", () => {
    const good = `sys:ds1:${newUlid()}`;

    it("should accept well-formed sysnames of any valid home", () => {
      for (const s of [good, `sys:a:${newUlid()}`, `sys:data_2-x:${newUlid()}`, `sys:${"a".repeat(32)}:${newUlid()}`]) {
        expect(isSysName(s), s).to.equal(true);
        expect(asSysName(s)).to.equal(s);
      }
    });

    it("should refuse malformed sysnames", () => {
      const ulid = newUlid();
      const bad: unknown[] = [
        "", "sys:ds1", `sys:ds1:${ulid.slice(1)}`, `sys:ds1:${ulid}0`, `sys:ds1:${ulid.toLowerCase()}`,
        `sys:ds1:${ulid.slice(0, 25)}I`, `sys:ds1:${ulid.slice(0, 25)}L`, `sys:ds1:${ulid.slice(0, 25)}O`, `sys:ds1:${ulid.slice(0, 25)}U`,
        `SYS:ds1:${ulid}`, `sys:DS1:${ulid}`, `sys::${ulid}`, `sys:1ds:${ulid}`, `sys:${"a".repeat(33)}:${ulid}`,
        `sys:ds1:${ulid}\n`, ` sys:ds1:${ulid}`, `sys:d s:${ulid}`, `obj:ds1:${ulid}`,
        null, undefined, 42, {}, [good],
      ];
      for (const v of bad) expect(isSysName(v), JSON.stringify(v)).to.equal(false);
    });

    it("should throw a TypeError that shows the refused value", () => {
      expect(() => asSysName("sys:ds1:nope")).to.throw(TypeError, 'not a sysname: "sys:ds1:nope"');
    });
  });

  describe("homeOf", () => {
    it("should give the home part of a sysname", () => {
      expect(homeOf(newSysName(ds1))).to.equal("ds1");
      expect(homeOf(newSysName("data_2-x" as ServerId))).to.equal("data_2-x");
    });
  });

  describe("isServerId / asServerId", () => {
    it("should accept lower-case ids that start with a letter", () => {
      for (const id of ["ns1", "ds1", "cs2", "a", "compute_server-3", "a".repeat(32)]) expect(asServerId(id)).to.equal(id);
    });

    it("should refuse anything else", () => {
      for (const v of ["", "1cs", "CS1", "cs 1", "cs:1", "a".repeat(33), "cs1\n", null, 7]) {
        expect(isServerId(v), JSON.stringify(v)).to.equal(false);
      }
      expect(() => asServerId("CS1")).to.throw(TypeError, 'not a server id: "CS1"');
    });
  });

  describe("newThreadId", () => {
    it("should name its origin and carry a fresh ULID", () => {
      const a = newThreadId("ws-42");
      expect(a).to.match(/^t:ws-42:[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(newThreadId("ws-42")).not.to.equal(a);
    });
  });
});
