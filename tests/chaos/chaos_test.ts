import assert from "node:assert/strict";
import { chaos, failures } from "../../scripts/chaos.ts";

Deno.test("a short chaos run: kills, restarts, stops, stale writes and a read-only board break no invariant", async () => {
  const counts = await chaos(8, () => {});
  assert.deepEqual(failures(counts), []);
  assert.ok(counts.tasks > 10, `tasks: ${counts.tasks}`);
  assert.ok(counts.runs > 10, `runs: ${counts.runs}`);
  assert.ok(counts.stale_writes > 0, "stale writes were tried");
  assert.equal(counts.duplicates, 0);
});
