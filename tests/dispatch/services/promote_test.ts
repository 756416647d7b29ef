/** The promote service alone, on a real board: a scheduled task becomes ready when its time comes. */
import assert from "node:assert/strict";
import { PromoteService } from "../../../lib/dispatch/services/promote.ts";
import { HUMAN } from "../../_setup.ts";
import { bundle } from "./_bundle.ts";

Deno.test("promote moves a scheduled task to ready once the board's clock passes not_before", async () => {
  await using b = bundle();
  const at = b.clock.wall + 60_000;
  const task = (await b.store.createTask({ title: "later", not_before: at }, HUMAN)).task;
  assert.equal(task.status, "scheduled");
  const s = new PromoteService({ store: b.store });
  assert.deepEqual(await s.runOnce(b.clock.read()), { promoted: 0 });
  b.clock.advance(60_001);
  assert.deepEqual(await s.runOnce(b.clock.read()), { promoted: 1 });
  assert.equal((await b.store.getTask(task.id)).status, "ready");
});
