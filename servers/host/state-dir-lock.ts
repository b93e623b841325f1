/**
 * StateDirLock: one live server process per state directory.
 *
 *   const lock = StateDirLock.acquire(dir, { id: "ds1", role: "data", nameServer });
 *   lock.announce("127.0.0.1:7101");   // once listening: readers learn where it serves
 *   lock.release();                    // on a clean stop
 * `acquire` throws StateDirHeldError if another live process holds the directory.
 *
 * Every server takes `<dir>/server.lock` before it opens anything in its directory, so a
 * second process (a duplicate `clouds up`, a server started by hand) refuses to start
 * instead of opening the same SQLite files; the error names the directory and the holder.
 * A lock left by a process that died (kill -9, a crash) is stale and is taken over.
 *
 * The file also tells the launcher which process serves a directory and where (id, role,
 * pid, address, name server), so `clouds up` and `clouds down` find the servers of a
 * cluster directory from what is on disk, even when cluster.json or the name server is gone.
 */
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import type { ServerRole } from "../../ra-kernel/ids.js";
import { StateDirHeldError } from "./errors.js";
import { PidLockFile, type LockHolder } from "./pid-lock-file.js";

/** What a server says of itself in its lock file. */
export interface ServerFacts {
  id: string;
  role: ServerRole;
  /** "host:port" it serves on; absent until it listens. */
  address?: string;
  /** "host:port" of the name server it registers with (absent for a name server). */
  nameServer?: string;
}

export type StateDirHolder = LockHolder<ServerFacts>;

export class StateDirLock {
  /** The lock file's name inside a state directory. */
  static readonly FILE = "server.lock";

  private constructor(
    readonly dir: string,
    private readonly lock: PidLockFile<ServerFacts>,
  ) {}

  /** Takes `dir` (created if missing) for this process; throws StateDirHeldError if a live process has it. */
  static acquire(dir: string, facts: ServerFacts): StateDirLock {
    mkdirSync(dir, { recursive: true });
    const got = PidLockFile.tryAcquire<ServerFacts>(StateDirLock.fileOf(dir), facts);
    if (got.lock) return new StateDirLock(dir, got.lock);
    throw heldError(dir, got.holder);
  }

  /** The live process holding `dir`, or null. */
  static holder(dir: string): StateDirHolder | null {
    return PidLockFile.holder<ServerFacts>(StateDirLock.fileOf(dir));
  }

  static fileOf(dir: string): string {
    return path.join(dir, StateDirLock.FILE);
  }

  announce(address: string): void {
    this.lock.update({ address });
  }

  release(): void {
    this.lock.release();
  }
}

function heldError(dir: string, holder: StateDirHolder): StateDirHeldError {
  const who = holder.pid === process.pid ? "this same process" : `pid ${holder.pid}`;
  const what = `${holder.id}, ${holder.role} server${holder.address ? ` at ${holder.address}` : ""}, since ${holder.since}`;
  const message = `state directory ${dir} is held by ${who} (${what}); stop that server first (lock file ${StateDirLock.fileOf(dir)})`;
  return new StateDirHeldError(message, { dir, holderPid: holder.pid, holderId: holder.id });
}
