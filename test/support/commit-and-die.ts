/**
 * Child process of the SqliteSegmentStore crash test.
 *
 * Usage: node dist/test/support/commit-and-die.js FILE DURABILITY
 * Opens the store, creates one object, commits 20 pages in concurrent calls (group commit)
 * and decides an atomic thread (CRASH_DECISION, with the commits: they share the
 * transaction), prints {"object", "segment", "versions", "decision"} as one JSON line on
 * stdout once every promise has resolved, and SIGKILLs itself at once: no close, no
 * checkpoint, no exit hook. The parent reopens the file and expects every acknowledged page
 * and the decision to be there.
 */
import { writeSync } from "node:fs";
import { asAtomicId, asServerId } from "../../ra-kernel/ids.js";
import { SqliteSegmentStore } from "../../servers/data/sqlite-segment-store.js";
import type { Durability } from "../../servers/data/store-options.js";
import { HOME, newObject, pageOf } from "./segment-store-fixtures.js";

export const CRASH_PAGES = 20;
export const CRASH_DECISION = asAtomicId("t:crash:decided");

async function main(file: string, durability: Durability): Promise<void> {
  const store = await SqliteSegmentStore.open({ file, durability, serverId: HOME });
  const obj = newObject(CRASH_PAGES);
  await store.createObject(obj.desc, obj.segments);
  const segment = obj.desc.segments.data;
  const commits = Array.from({ length: CRASH_PAGES }, (_, page) =>
    store.commitPages([{ segment, page, bytes: pageOf(page) }]),
  );
  const decided = store.putDecision({ id: CRASH_DECISION, outcome: "commit", proposer: asServerId("cs1"), decidedAt: Date.now(), acknowledged: false, attempt: 0 });
  const versions = (await Promise.all(commits)).flat();
  const decision = await decided;
  writeSync(1, JSON.stringify({ object: obj.desc.sysname, segment, versions, decision }) + "\n");
  process.kill(process.pid, "SIGKILL");
}

if (require.main === module) {
  main(process.argv[2], process.argv[3] as Durability).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
