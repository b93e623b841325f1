import { expect } from "chai";
import { nativeFloatView } from "../../ra-kernel/float-writes.js";

describe("nativeFloatView", () => {
  it("should be a DataView over the given range whose float setters write what DataView's own do", () => {
    const buffer = new ArrayBuffer(32);
    const view = nativeFloatView(buffer, 8, 16);
    expect(view).to.be.instanceOf(DataView);
    expect([view.byteOffset, view.byteLength]).to.deep.equal([8, 16]);
    view.setFloat64(0, 1.5, true);
    view.setFloat32(8, -2.25, false);
    const plain = new DataView(buffer);
    expect(plain.getFloat64(8, true)).to.equal(1.5);
    expect(plain.getFloat32(16, false)).to.equal(-2.25);
    expect(Object.getPrototypeOf(view)).to.not.equal(DataView.prototype);
    expect(Object.getPrototypeOf(Object.getPrototypeOf(view))).to.equal(DataView.prototype);
  });
});
