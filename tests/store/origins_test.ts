import assert from "node:assert/strict";
import { HUMAN } from "../_setup.ts";
import { ConflictError, StaleLeaseError } from "../../lib/store/mod.ts";
import { add, type BoardState, boardState, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

/** links lists the board's links as (parent, child) pairs, as the API shows them. */
function links(state: BoardState): string[][] {
  return state.tasks.flatMap((t) => t.children.map((c) => [t.task.id, c.id])).sort();
}

conformance(
  "showTask() lists per run the tasks that run's worker created, and only those",
  async (drv) => {
    await using b = await drv.fresh();
    const plan = await add(b.store, "plan");
    const other = await add(b.store, "other");
    const first = await claimId(b.store, plan.id);
    const rival = await claimId(b.store, other.id);
    const a = await b.store.createTask({ title: "a" }, worker(first));
    await b.store.createTask({ title: "by the other worker" }, worker(rival));
    await add(b.store, "by a person");
    await b.store.block(plan.id, "which way?", worker(first)); // run 1 ends
    await b.store.createTask({ title: "after run 1" }, worker(rival));
    await b.store.unblock(plan.id, HUMAN);
    const second = await claimId(b.store, plan.id);
    const c = await b.store.createTask({ title: "c" }, worker(second));
    const d = await b.store.createTask({ title: "d", parents: [c.task.id] }, worker(second));
    const runs = (await b.store.showTask(plan.id)).runs;
    assert.deepEqual(runs.map((r) => [r.id, r.created_tasks.map((t) => t.id)]), [
      [first.run.id, [a.task.id]],
      [second.run.id, [c.task.id, d.task.id]],
    ]);
    assert.deepEqual({ ...runs[1]!.created_tasks[1]! }, {
      id: d.task.id,
      title: "d",
      status: "todo",
      assignee: null,
    });
    const otherRuns = (await b.store.showTask(other.id)).runs;
    assert.equal(otherRuns[0]!.created_tasks.length, 2);
  },
);

conformance(
  "a worker links only tasks its run created, and only while the run is open",
  async (drv) => {
    await using b = await drv.fresh();
    const plan = await add(b.store, "plan");
    const stranger = await add(b.store, "someone else's");
    const c = await claimId(b.store, plan.id);
    const one = await b.store.createTask({ title: "one" }, worker(c));
    const two = await b.store.createTask({ title: "two" }, worker(c));
    const r = await b.store.link(one.task.id, two.task.id, worker(c));
    assert.equal(r.changed, true);
    assert.equal((await b.store.getTask(two.task.id)).status, "todo");
    // A stranger may be the parent (waiting on it changes nothing for it), not the child.
    await b.store.link(stranger.id, one.task.id, worker(c));
    const before = await boardState(b.store);
    for (const [parent, child] of [[one.task.id, stranger.id], [one.task.id, plan.id]]) {
      await assert.rejects(b.store.link(parent!, child!, worker(c)), (err: ConflictError) => {
        assert.equal(err.code, "foreign_task");
        assert.match(err.message, /a worker links only tasks its run created/);
        return true;
      });
    }
    await b.store.complete(plan.id, {}, worker(c));
    const three = await add(b.store, "three");
    await assert.rejects(
      b.store.link(three.id, two.task.id, worker(c)),
      (err: StaleLeaseError) => err.code === "stale_lease" && /has ended/.test(err.message),
    );
    assert.deepEqual(links(await boardState(b.store)), links(before));
    // A person links anything.
    assert.equal((await b.store.link(three.id, stranger.id, HUMAN)).changed, true);
  },
);
