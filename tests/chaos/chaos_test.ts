import assert from "node:assert/strict";
import { chaos, failures, LIBFAKETIME } from "../../scripts/chaos.ts";

Deno.test("a short chaos run: kills, restarts, stops, stale writes and a read-only board break no invariant", async () => {
  const counts = await chaos(8, () => {});
  assert.deepEqual(failures(counts), []);
  // a loaded machine (the suite runs in parallel) makes fewer rounds in the same time
  assert.ok(counts.tasks >= 4, `tasks: ${counts.tasks}`);
  assert.ok(counts.runs >= 4, `runs: ${counts.runs}`);
  assert.ok(counts.stale_writes > 0, "stale writes were tried");
  assert.equal(counts.duplicates, 0);
});

const faketime = LIBFAKETIME !== null;

Deno.test({
  name: faketime
    ? "a short chaos run with kills mid-spawn and wall-clock steps: no task has two live workers"
    : "chaos with kills mid-spawn and clock steps: SKIPPED, libfaketime is not installed (scripts/setup --faults)",
  ignore: !faketime,
  fn: async () => {
    const counts = await chaos(10, () => {}, { killSpawn: true, clockStep: true });
    assert.deepEqual(failures(counts), []);
    assert.equal(counts.tasks_with_two_live_workers, 0);
    assert.ok(counts.spawn_kills > 0, `kills mid-spawn: ${counts.spawn_kills}`);
    assert.ok(counts.clock_steps > 0, `clock steps: ${counts.clock_steps}`);
  },
});
