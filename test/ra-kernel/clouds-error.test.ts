/**
 * Tests of CloudsError and its wire form (ra-kernel/clouds-error.ts): registered subclasses
 * round-trip with their fields, unknown names become RemoteError keeping the name, the
 * server is stamped once, and the remote stack travels.
 */
import { expect } from "chai";
import {
  CloudsError,
  fromWireError,
  isWireError,
  registerError,
  RemoteError,
  toWireError,
  type WireError,
} from "../../ra-kernel/clouds-error.js";
import { ArgumentError, PageFaultError, UnknownEntryError } from "../../ra-kernel/errors.js";
import { ClassNotFoundError } from "../../servers/data/errors.js";
import { BadRequestError } from "../../servers/transport/errors.js";

/** A subclass registered only by this test. */
class QuotaExceededError extends CloudsError {
  declare readonly limit: number;
  declare readonly used: number;
  declare readonly owners: string[];
  static override fieldNames = ["limit", "used", "owners"];
}
registerError(QuotaExceededError);

/** Sends an error through JSON, as the transports do. */
function overTheWire(err: unknown, server?: string): CloudsError {
  return fromWireError(JSON.parse(JSON.stringify(toWireError(err, server))) as WireError);
}

describe("CloudsError", () => {
  it("should take its subclass's name and its fields", () => {
    const err = new UnknownEntryError("Rectangle has no entry 'x'", { className: "Rectangle", entry: "x" });
    expect(err).to.be.instanceOf(Error);
    expect(err.name).to.equal("UnknownEntryError");
    expect(err.message).to.equal("Rectangle has no entry 'x'");
    expect(err).to.include({ className: "Rectangle", entry: "x" });
    expect(err.wireFields()).to.deep.equal({ className: "Rectangle", entry: "x" });
  });

  it("should list only the fields its class declares", () => {
    const err = new BadRequestError("bad", { kind: "compute.invoke", field: "args" });
    (err as unknown as { extra: number }).extra = 1;
    expect(err.wireFields()).to.deep.equal({ kind: "compute.invoke", field: "args" });
    expect(new CloudsError("plain").wireFields()).to.deep.equal({});
  });

  describe("toWireError / fromWireError", () => {
    it("should rebuild a registered subclass with its fields, server and remote stack", () => {
      const err = new ArgumentError("Rectangle.size takes 2 arguments", { className: "Rectangle", entry: "size" });
      const back = overTheWire(err, "cs1");
      expect(back).to.be.instanceOf(ArgumentError);
      expect(back.name).to.equal("ArgumentError");
      expect(back.message).to.equal(err.message);
      expect(back).to.include({ className: "Rectangle", entry: "size", server: "cs1" });
      expect(back.remoteStack).to.equal(err.stack);
      expect(back.remoteStack).to.contain("clouds-error.test");
    });

    it("should keep fields of every JSON type", () => {
      const err = new QuotaExceededError("over quota", { limit: 10, used: 12, owners: ["ana", "bo"] });
      const back = overTheWire(err, "ds1");
      expect(back).to.be.instanceOf(QuotaExceededError);
      expect(back.wireFields()).to.deep.equal({ limit: 10, used: 12, owners: ["ana", "bo"] });
      const missing = overTheWire(new ClassNotFoundError("no class Foo", { className: "Foo", version: null }));
      expect(missing).to.be.instanceOf(ClassNotFoundError);
      expect(missing).to.include({ className: "Foo", version: null });
      const fault = overTheWire(new PageFaultError("cannot fault", { segment: "sys:ds1:X", page: 7 }));
      expect(fault).to.include({ segment: "sys:ds1:X", page: 7 });
    });

    it("should rebuild an unknown name as a RemoteError that keeps the name and fields", () => {
      const wire: WireError = { name: "SpaceshipError", message: "out of fuel", server: "cs9", stack: "SpaceshipError: out of fuel\n    at far away", fields: { tank: 3 } };
      const err = fromWireError(wire);
      expect(err).to.be.instanceOf(RemoteError);
      expect(err).to.be.instanceOf(CloudsError);
      expect(err.name).to.equal("SpaceshipError");
      expect(err.message).to.equal("out of fuel");
      expect(err).to.include({ remoteName: "SpaceshipError", tank: 3, server: "cs9" });
      expect(err.remoteStack).to.equal(wire.stack);
    });

    it("should keep an unknown name through a second hop", () => {
      const first = fromWireError({ name: "SpaceshipError", message: "out of fuel", server: "cs9" });
      const again = overTheWire(first, "cs1");
      expect(again.name).to.equal("SpaceshipError");
      expect(again).to.include({ remoteName: "SpaceshipError", server: "cs9" });
    });

    it("should stamp the server only on an error that has none", () => {
      expect(toWireError(new CloudsError("x"), "cs1").server).to.equal("cs1");
      const rebuilt = overTheWire(new CloudsError("x"), "ds1");
      expect(toWireError(rebuilt, "cs1").server, "where it was first thrown").to.equal("ds1");
      expect(toWireError(new CloudsError("x")).server).to.equal(undefined);
    });

    it("should forward the first stack, not the relaying process's", () => {
      const original = new UnknownEntryError("no entry", { className: "C", entry: "e" });
      const relayed = overTheWire(original, "cs2");
      expect(toWireError(relayed, "cs1").stack).to.equal(original.stack);
    });

    it("should send a plain Error with its name, message and stack", () => {
      const err = new TypeError("field x cannot hold an object");
      const wire = toWireError(err, "cs1");
      expect(wire).to.deep.equal({ name: "TypeError", message: "field x cannot hold an object", stack: err.stack, server: "cs1" });
      const back = fromWireError(wire);
      expect(back).to.be.instanceOf(RemoteError);
      expect(back.name).to.equal("TypeError");
      expect(back).to.include({ remoteName: "TypeError", server: "cs1" });
    });

    it("should send a thrown non-error as an Error with its string form", () => {
      expect(toWireError("boom", "cs1")).to.deep.equal({ name: "Error", message: "boom", server: "cs1" });
      expect(toWireError(42)).to.deep.equal({ name: "Error", message: "42", server: undefined });
    });

    it("should rebuild the base class by name", () => {
      const back = overTheWire(new CloudsError("generic"));
      expect(back.constructor).to.equal(CloudsError);
      expect(back.name).to.equal("CloudsError");
    });
  });

  describe("isWireError", () => {
    it("should accept objects with a string name and message", () => {
      expect(isWireError({ name: "X", message: "m" })).to.equal(true);
      expect(isWireError(toWireError(new ArgumentError("m", { className: "C", entry: "e" })))).to.equal(true);
    });

    it("should refuse anything else", () => {
      for (const v of [null, undefined, "Error: m", 3, { name: "X" }, { message: "m" }, { name: 1, message: "m" }]) {
        expect(isWireError(v), JSON.stringify(v)).to.equal(false);
      }
    });
  });
});
