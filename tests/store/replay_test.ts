/**
 * Replayed reports: a worker that sends its `complete` or `block` again (its first answer was
 * lost on the way back) gets the task as it is, and the board does not change: no second event,
 * so no second notification. Any other write with that token is still refused.
 */
import assert from "node:assert/strict";
import { StaleLeaseError } from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { add, boardState, claimId, eventKinds, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

conformance("complete() sent twice by its worker is one completion", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "report once", { assignee: "coder" });
  const child = await add(b.store, "after", { parents: [task.id] });
  const c = await claimId(b.store, task.id);
  const first = await b.store.complete(
    task.id,
    { summary: "done", metadata: { files: 2, ok: true }, result: "r1" },
    worker(c),
  );
  b.clock.advance(5_000);
  const before = await boardState(b.store);
  // the same report, its metadata's keys in another order (another encoder, the same JSON)
  const again = await b.store.complete(
    task.id,
    { summary: "done", metadata: { ok: true, files: 2 }, result: "r1" },
    worker(c),
  );
  assert.deepEqual(again, first);
  assert.deepEqual(await boardState(b.store), before);
  assert.equal((await eventKinds(b.store, task.id)).filter((k) => k === "completed").length, 1);
  assert.equal((await b.store.getTask(child.id)).status, "ready");
});

conformance("block() sent twice by its worker is one block", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "ask once");
  const c = await claimId(b.store, task.id);
  const first = await b.store.block(task.id, "which database?", worker(c));
  const before = await boardState(b.store);
  const again = await b.store.block(task.id, "  which database?  ", worker(c));
  assert.deepEqual(again, first);
  assert.deepEqual(await boardState(b.store), before);
});

conformance("a replayed completion returns the task as it is now", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "reviewed later", { review_required: true });
  const c = await claimId(b.store, task.id);
  await b.store.complete(task.id, { summary: "done" }, worker(c));
  const approved = await b.store.review(task.id, "approve", undefined, HUMAN);
  const before = await boardState(b.store);
  const again = await b.store.complete(task.id, { summary: "done" }, worker(c));
  assert.equal(again.status, "done");
  assert.deepEqual(again, approved);
  assert.deepEqual(await boardState(b.store), before);
});

/** Reports that did not end the run: each is refused after it ended, and changes nothing. */
const OTHER: {
  name: string;
  end: "complete" | "block";
  send: "complete" | "block";
  summary?: string;
  metadata?: Record<string, unknown>;
  result?: string;
  reason?: string;
}[] = [
  { name: "another summary", end: "complete", send: "complete", summary: "other" },
  { name: "other metadata", end: "complete", send: "complete", metadata: { files: 3 } },
  { name: "a result the first did not have", end: "complete", send: "complete", result: "x" },
  { name: "a block after the completion", end: "complete", send: "block", reason: "?" },
  { name: "another reason", end: "block", send: "block", reason: "another question" },
  { name: "a completion after the block", end: "block", send: "complete", summary: "done" },
];

for (const o of OTHER) {
  conformance(`a different report after the run ended is refused: ${o.name}`, async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "ended");
    const c = await claimId(b.store, task.id);
    if (o.end === "complete") {
      await b.store.complete(task.id, { summary: "done", metadata: { files: 2 } }, worker(c));
    } else {
      await b.store.block(task.id, "which database?", worker(c));
    }
    const before = await boardState(b.store);
    const send = o.send === "complete"
      ? b.store.complete(task.id, {
        summary: o.summary ?? "done",
        metadata: o.metadata ?? { files: 2 },
        ...(o.result !== undefined ? { result: o.result } : {}),
      }, worker(c))
      : b.store.block(task.id, o.reason ?? "which database?", worker(c));
    await assert.rejects(send, StaleLeaseError);
    assert.deepEqual(await boardState(b.store), before);
  });
}

conformance("a worker's report after a person completed its task is still refused", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "taken over");
  const c = await claimId(b.store, task.id);
  await b.store.complete(task.id, { summary: "done" }, HUMAN);
  const before = await boardState(b.store);
  await assert.rejects(b.store.complete(task.id, { summary: "done" }, worker(c)), StaleLeaseError);
  assert.deepEqual(await boardState(b.store), before);
});

conformance("a report replayed after the task was re-claimed is still one report", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "again");
  const c = await claimId(b.store, task.id);
  await b.store.block(task.id, "which database?", worker(c));
  await b.store.unblock(task.id, HUMAN);
  const next = await claimId(b.store, task.id);
  const before = await boardState(b.store);
  const again = await b.store.block(task.id, "which database?", worker(c));
  assert.equal(again.status, "running");
  assert.equal(again.current_run_id, next.run.id);
  assert.deepEqual(await boardState(b.store), before);
});
