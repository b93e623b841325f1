/**
 * TwoPhaseCommit: the coordinator of an atomic thread whose writes span several data servers
 * (DESIGN §7a, issue 12) — two-phase commit with presumed abort and the "last agent" shortcut.
 * The compute server running the thread's root frame coordinates; the participants are the
 * homes of the pages it wrote (servers/data/atomic-participants.ts); the *log home*, the one
 * home whose part is not prepared, keeps the decision (servers/data/atomic-decisions.ts).
 *
 *   1. prepare   every home but the log home prepares its part: checked as a commit, stored
 *                durably, not applied. All at once.
 *   2. decide    all prepared: the log home's part is committed as one segment with the
 *                thread's commit decision in the same transaction. That transaction is THE
 *                commit point: before it, the thread is aborted everywhere (presumed abort:
 *                a participant in doubt that asks first stores an abort, and the segment is
 *                then refused); after it, committed everywhere. A part refused, or a prepare
 *                that fails or is not answered: nothing is decided, every part is aborted.
 *   3. finish    every prepared part is told the outcome, all at once; once each answered,
 *                the decision is acknowledged (the log home may forget it after its
 *                retention). A participant we cannot tell resolves itself with the log home.
 *
 * The log home's commit may go unanswered (its connection broke): then the decision is asked
 * of the log home (proposing an abort, which makes the answer final) until it answers, at most
 * `decideTimeoutMs`; if it never does, the outcome is unknown (CommitOutcomeUnknownError):
 * the participants resolve themselves, and Cluster.outcome tells the caller later.
 *
 * The log home is the home with the most pages this server wrote: its part needs no prepare.
 *
 * Branches: compute servers that ran frames of the thread (a frame sent elsewhere by a
 * location hint) hold writes of it too. Each is a participant: it prepares what it wrote at
 * every home it wrote at (ra-kernel/atomic-branches.ts), and is finished like a home. If this
 * server wrote nothing itself there is no last agent: the decision is stored at
 * `fallbackLogHome` (the root object's home) with an explicit `decide`, and only then is it
 * the commit point.
 */
import createDebug from "debug";
import type { AtomicId, ServerId } from "./ids.js";
import type { CommitReply, DecisionReply, PrepareReply } from "./home-link.js";
import { CommitOutcomeUnknownError, PagesLostError } from "./errors.js";

const log = createDebug("ra:2pc");

/** How long the coordinator keeps asking a log home that did not answer its commit (ms). */
const DECIDE_TIMEOUT_MS = 15_000;
const DECIDE_RETRY_MS = 100;

/** One home's part of the thread, as the DSM client sends it (DsmClient.commitAtomic). */
export interface HomePart {
  home: ServerId;
  pages: number;
  prepare(logHome: ServerId): Promise<PrepareReply>;
  /** The log home's part: committed with the decision (twoPhase). */
  commit(): Promise<CommitReply>;
  /** The log home's part when nothing is decided: aborted (its pages reverted). */
  abort(): Promise<unknown>;
  finish(outcome: "commit" | "abort"): Promise<unknown>;
}

export interface Coordination {
  /** The thread's decision id and this attempt's. */
  thread: AtomicId;
  attempt: number;
  decide(home: ServerId, req: { id: AtomicId; outcome: "commit" | "abort"; attempt: number }): Promise<DecisionReply>;
  acknowledge(home: ServerId, id: AtomicId): Promise<void>;
  /** A PagesLostError saying the thread was applied nowhere, and why. */
  notApplied(home: ServerId, why: string): PagesLostError;
  /** Figures: how long the protocol took, by outcome. */
  record?(outcome: "commit" | "abort" | "unknown", ms: number): void;
  decideTimeoutMs?: number;
  /** Fault injection for tests: awaited once every part is prepared, and once it is decided. */
  pause?(point: TwoPhasePoint): Promise<void>;
}

/** Where a test may hold a two-phase commit (Coordination.pause). */
export type TwoPhasePoint = "prepared" | "decided";

/** A compute server holding frames' writes of the thread (a branch), as the coordinator reaches it. */
export interface BranchPart {
  server: string;
  prepare(logHome: ServerId): Promise<{ prepared: boolean; reason?: string }>;
  /** Commit: its prepared parts are applied; abort: its writes reverted. Either way it ends. */
  finish(outcome: "commit" | "abort"): Promise<unknown>;
}

/** Runs the protocol (see header); resolves once committed, throws PagesLostError if applied nowhere. */
export async function commitTwoPhase(parts: HomePart[], c: Coordination, branches: BranchPart[] = [], fallbackLogHome?: ServerId): Promise<void> {
  const started = performance.now();
  const logPart = parts.length === 0 ? undefined : parts.reduce((a, b) => (b.pages > a.pages || (b.pages === a.pages && b.home < a.home) ? b : a));
  const logHome = logPart?.home ?? fallbackLogHome;
  if (logHome === undefined) throw new Error(`atomic thread ${c.thread}: no home to keep its decision`);
  const others = parts.filter((p) => p !== logPart);
  const voters: { name: string; vote: () => Promise<{ prepared: boolean; reason?: string }> }[] = [
    ...others.map((p) => ({ name: `its part at ${p.home}`, vote: () => p.prepare(logHome) })),
    ...branches.map((b) => ({ name: `its frames on ${b.server}`, vote: () => b.prepare(logHome) })),
  ];
  const finishAll = (o: "commit" | "abort") => Promise.allSettled([...others.map((p) => p.finish(o)), ...branches.map((b) => b.finish(o))]);
  let outcome: "commit" | "abort" | "unknown" = "abort";
  try {
    const votes = await Promise.allSettled(voters.map((v) => v.vote()));
    const no = votes.findIndex((v) => v.status === "rejected" || !v.value.prepared);
    if (no >= 0) {
      await Promise.allSettled([finishAll("abort"), logPart?.abort()]);
      throw c.notApplied(logHome, `${voters[no].name} could not be prepared (${whyNot(votes[no])})`);
    }
    await c.pause?.("prepared");
    const decided = logPart ? await decideAt(logPart, c) : await decideExplicitly(logHome, c);
    outcome = decided;
    await c.pause?.("decided");
    const finished = await finishAll(decided);
    if (decided === "abort") throw c.notApplied(logHome, `its log home ${logHome} refused it (a participant in doubt decided an abort first)`);
    if (finished.every((f) => f.status === "fulfilled")) void c.acknowledge(logHome, c.thread).catch((err: Error) => log("%s: acknowledging at %s failed: %s", c.thread, logHome, err.message));
    else log("%s: some participants could not be told the commit: they resolve it with %s", c.thread, logHome);
  } catch (err) {
    if (err instanceof CommitOutcomeUnknownError) outcome = "unknown";
    throw err;
  } finally {
    c.record?.(outcome, performance.now() - started);
  }
}

/** Commits the log home's part with the decision; learns the decision if the reply is lost. */
async function decideAt(logPart: HomePart, c: Coordination): Promise<"commit" | "abort"> {
  try {
    const reply = await logPart.commit();
    return reply.applied ? "commit" : "abort";
  } catch (err) {
    log("%s: the commit at its log home %s got no answer (%s): asking for the decision", c.thread, logPart.home, (err as Error).message);
    // Proposing an abort makes the answer final: the part is refused if it still arrives.
    return askUntilAnswered(logPart.home, "abort", c, err);
  }
}

/** No part of ours to carry the decision: it is stored by itself (asking again if the reply is lost: the same attempt's commit is answered as stored). */
function decideExplicitly(logHome: ServerId, c: Coordination): Promise<"commit" | "abort"> {
  return askUntilAnswered(logHome, "commit", c, undefined);
}

async function askUntilAnswered(logHome: ServerId, proposed: "commit" | "abort", c: Coordination, lost: unknown): Promise<"commit" | "abort"> {
  const deadline = performance.now() + (c.decideTimeoutMs ?? DECIDE_TIMEOUT_MS);
  for (let wait = DECIDE_RETRY_MS; performance.now() < deadline; wait = Math.min(wait * 2, 1000)) {
    try {
      const d = await c.decide(logHome, { id: c.thread, outcome: proposed, attempt: c.attempt });
      return d.outcome === "commit" && d.attempt === c.attempt ? "commit" : "abort";
    } catch (err) {
      lost = err;
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  throw new CommitOutcomeUnknownError(
    `atomic thread ${c.thread}: its log home ${logHome} did not answer, for ${c.decideTimeoutMs ?? DECIDE_TIMEOUT_MS} ms, ` +
      `the question of its outcome (${(lost as Error)?.message ?? String(lost)}): it is committed everywhere or nowhere; Cluster.outcome says which`,
    { server: logHome },
  );
}

function whyNot(vote: PromiseSettledResult<{ prepared: boolean; reason?: string }>): string {
  if (vote.status === "rejected") return (vote.reason as Error)?.message ?? String(vote.reason);
  return vote.value.reason ?? "refused";
}
