/**
 * Fencing: every worker write carries its run's lease token, and a write whose token is not
 * the task's current run is refused with StaleLeaseError and changes nothing on disk. Each
 * case compares every row of the board, read through a second connection, before and after.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { type Actor, StaleLeaseError, type Store } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, boardState, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";
import { exitCodeOf } from "../../lib/cli/exit_codes.ts";

interface Scene {
  /** The task the stale worker writes to. */
  id: string;
  /** The stale worker. */
  actor: Actor;
  /** What the refusal message must say. */
  says: RegExp;
}

/** Each way a worker can hold a token that is not its task's current run. */
const STALE: { name: string; arrange: (s: Store) => Promise<Scene> }[] = [
  {
    name: "a token from a run that ended before the task was re-claimed",
    arrange: async (s) => {
      const task = await add(s, "re-claimed");
      const old = await claimId(s, task.id);
      await s.endRun(old.run.id, { outcome: "stalled" }, DISPATCHER);
      const fresh = await claimId(s, task.id);
      return {
        id: task.id,
        actor: worker(old),
        says: new RegExp(`its lease belongs to run ${fresh.run.id}, not run ${old.run.id}`),
      };
    },
  },
  {
    name: "a token from a run that ended while the task waits for a retry",
    arrange: async (s) => {
      const task = await add(s, "backing off");
      const old = await claimId(s, task.id);
      await s.endRun(old.run.id, { outcome: "crashed" }, DISPATCHER);
      return {
        id: task.id,
        actor: worker(old),
        says: new RegExp(`run ${old.run.id} has ended \\(crashed\\) and the task is ready`),
      };
    },
  },
  {
    name: "the token of another task's run",
    arrange: async (s) => {
      const task = await add(s, "mine");
      const other = await add(s, "theirs");
      await claimId(s, task.id);
      const theirs = await claimId(s, other.id);
      return {
        id: task.id,
        actor: worker(theirs),
        says: new RegExp(`the lease token belongs to task "${other.id}"`),
      };
    },
  },
  {
    name: "a random token",
    arrange: async (s) => {
      const task = await add(s, "guessed");
      await claimId(s, task.id);
      return {
        id: task.id,
        actor: { name: "intruder", token: randomBytes(24).toString("base64url") },
        says: /the lease token belongs to no run/,
      };
    },
  },
];

/** The fenced worker writes. */
const WRITES: { name: string; verb: string; write: (s: Store, sc: Scene) => Promise<unknown> }[] = [
  { name: "heartbeat()", verb: "heartbeat", write: (s, sc) => s.heartbeat(sc.id, sc.actor) },
  {
    name: "comment()",
    verb: "comment on",
    write: (s, sc) => s.comment(sc.id, "still working", sc.actor),
  },
  {
    name: "complete()",
    verb: "complete",
    write: (s, sc) =>
      s.complete(sc.id, { summary: "done", metadata: { k: 1 }, result: "r" }, sc.actor),
  },
  {
    name: "block()",
    verb: "block",
    write: (s, sc) => s.block(sc.id, "need help", sc.actor),
  },
];

for (const w of WRITES) {
  for (const stale of STALE) {
    conformance(`${w.name} with ${stale.name} is refused and changes nothing`, async (drv) => {
      await using b = await drv.fresh();
      const scene = await stale.arrange(b.store);
      b.clock.advance(1_000);
      const before = await boardState(b.store);
      const err = await w.write(b.store, scene).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof StaleLeaseError, `expected StaleLeaseError, got ${err}`);
      assert.equal(err.code, "stale_lease");
      assert.equal(exitCodeOf(err.code), 1);
      assert.match(err.message, new RegExp(`^Cannot ${w.verb} task "${scene.id}": `));
      assert.match(err.message, scene.says);
      assert.deepEqual(await boardState(b.store), before);
    });
  }
}

conformance(
  "cancel() and archive() with a stale token are refused while the task runs",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "running");
    const old = await claimId(b.store, task.id);
    await b.store.endRun(old.run.id, { outcome: "lost" }, DISPATCHER);
    await claimId(b.store, task.id);
    const before = await boardState(b.store);
    await assert.rejects(b.store.cancel(task.id, "stop", worker(old)), StaleLeaseError);
    await assert.rejects(b.store.archive(task.id, worker(old)), StaleLeaseError);
    assert.deepEqual(await boardState(b.store), before);
  },
);

conformance(
  "a stale worker cannot finish a re-claimed task, and the current worker still can",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "contested");
    const first = await claimId(b.store, task.id);
    await b.store.endRun(first.run.id, { outcome: "timed_out" }, DISPATCHER);
    const second = await claimId(b.store, task.id);
    await assert.rejects(b.store.complete(task.id, { summary: "mine" }, worker(first)));
    await b.store.heartbeat(task.id, worker(second, "coder-2"));
    await b.store.comment(task.id, "taking over", worker(second, "coder-2"));
    const done = await b.store.complete(task.id, { summary: "theirs" }, worker(second, "coder-2"));
    assert.equal(done.status, "done");
    const runs = await b.store.listRuns(task.id);
    assert.deepEqual(runs.map((r) => [r.id, r.outcome, r.summary]), [
      [second.run.id, "completed", "theirs"],
      [first.run.id, "timed_out", null],
    ]);
  },
);

conformance(
  "a worker's token stops working once its task is done, even for comments",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "finished");
    const c = await claimId(b.store, task.id);
    await b.store.complete(task.id, {}, worker(c));
    const before = await boardState(b.store);
    await assert.rejects(b.store.comment(task.id, "one more thing", worker(c)), StaleLeaseError);
    await assert.rejects(b.store.block(task.id, "wait", worker(c)), StaleLeaseError);
    assert.deepEqual(await boardState(b.store), before);
    await b.store.comment(task.id, "a person may still comment", HUMAN);
  },
);
