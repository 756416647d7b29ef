/**
 * The queue service alone, on a real board: ready tasks whose assignee no profile runs are
 * reported, grouped at most once per poll interval of the monotonic clock.
 */
import assert from "node:assert/strict";
import { QueueService } from "../../../lib/dispatch/services/queue.ts";
import { HUMAN } from "../../_setup.ts";
import { bundle } from "./_bundle.ts";

Deno.test("queue reports ready tasks no profile runs, regrouped once per poll interval", async () => {
  await using b = bundle('poll_interval = "2s"\n[profiles.coder]\ncommand = ["true"]');
  await b.store.createTask({ title: "runs", assignee: "coder" }, HUMAN);
  await b.store.createTask({ title: "nobody", assignee: "ghost" }, HUMAN);
  const s = new QueueService({ store: b.store, config: b.config });
  assert.deepEqual(await s.runOnce(b.clock.read()), {
    missing_profiles: [{ assignee: "ghost", ready: 1 }],
  });
  await b.store.createTask({ title: "nobody 2", assignee: "ghost" }, HUMAN);
  b.clock.advance(1_000);
  assert.deepEqual((await s.runOnce(b.clock.read())).missing_profiles, [{
    assignee: "ghost",
    ready: 1,
  }]);
  b.clock.advance(1_000);
  assert.deepEqual((await s.runOnce(b.clock.read())).missing_profiles, [{
    assignee: "ghost",
    ready: 2,
  }]);
  s.forget(); // config.toml reloaded
  await b.store.createTask({ title: "nobody 3", assignee: "ghost" }, HUMAN);
  assert.deepEqual((await s.runOnce(b.clock.read())).missing_profiles, [{
    assignee: "ghost",
    ready: 3,
  }]);
});
