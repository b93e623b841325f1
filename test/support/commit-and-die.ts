/**
 * Child process of the SqliteSegmentStore crash test.
 *
 * Usage: node dist/test/support/commit-and-die.js FILE DURABILITY
 * Opens the store, creates one object, commits 20 pages in concurrent calls (group commit),
 * prints {"object", "segment", "versions"} as one JSON line on stdout once every commit
 * promise has resolved, and SIGKILLs itself at once: no close, no checkpoint, no exit hook.
 * The parent reopens the file and expects every acknowledged page to be there.
 */
import { writeSync } from "node:fs";
import { SqliteSegmentStore } from "../../servers/data/sqlite-segment-store.js";
import type { Durability } from "../../servers/data/store-options.js";
import { HOME, newObject, pageOf } from "./segment-store-fixtures.js";

export const CRASH_PAGES = 20;

async function main(file: string, durability: Durability): Promise<void> {
  const store = await SqliteSegmentStore.open({ file, durability, serverId: HOME });
  const obj = newObject(CRASH_PAGES);
  await store.createObject(obj.desc, obj.segments);
  const segment = obj.desc.segments.data;
  const commits = Array.from({ length: CRASH_PAGES }, (_, page) =>
    store.commitPages([{ segment, page, bytes: pageOf(page) }]),
  );
  const versions = (await Promise.all(commits)).flat();
  writeSync(1, JSON.stringify({ object: obj.desc.sysname, segment, versions }) + "\n");
  process.kill(process.pid, "SIGKILL");
}

if (require.main === module) {
  main(process.argv[2], process.argv[3] as Durability).catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
