/**
 * InMemorySegmentStore against the shared SegmentStore behaviour suite.
 */
import { expect } from "chai";
import { InMemorySegmentStore } from "../../../servers/data/in-memory-segment-store.js";
import { HOME, segmentStoreBehaviour } from "../../support/segment-store-suite.js";

describe("InMemorySegmentStore", () => {
  segmentStoreBehaviour(async () => {
    const store = new InMemorySegmentStore({ serverId: HOME });
    return { store, dispose: () => store.close() };
  });

  it("should take the epoch it is given", async () => {
    const store = new InMemorySegmentStore({ epoch: 7 });
    expect(store.epoch).to.equal(7);
    await store.close();
  });
});
