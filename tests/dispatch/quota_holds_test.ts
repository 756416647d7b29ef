/**
 * Quota holds under a real dispatcher with worker processes (docs/quotas.md): a worker that
 * meets a rate limit holds its profile (its other tasks wait, `why` says so, other profiles
 * run on), its run is not the task's failure, and a person's release lets the profile run.
 */
import assert from "node:assert/strict";
import { agent, harness } from "./_harness.ts";

const HUMAN = { name: "tester" };

Deno.test("a rate limit holds its profile's other tasks, not other profiles; release lets it run", async () => {
  await using h = await harness(
    { coder: agent("rate_limited.sh"), writer: agent("complete.sh") },
    "failure_limit = 1",
  );
  const first = await h.create("first", "coder");
  await h.until(async () => (await h.store.listRuns(first.id)).some((r) => r.ended_at !== null));
  const [run] = await h.store.listRuns(first.id);
  assert.equal(run!.outcome, "transient", run!.error ?? "");
  assert.match(run!.error!, /^rate limited: Error: 429 .*; profile coder held until /);
  const t = await h.store.getTask(first.id);
  assert.equal(t.status, "ready", "not blocked, though failure_limit is 1");
  assert.equal(t.consecutive_failures, 0);
  const [hold] = await h.store.profileHolds();
  assert.equal(hold!.kind, "rate_limit");
  assert.ok(Date.parse(hold!.until!) - Date.parse(run!.ended_at!) > 590_000, hold!.until!);

  const second = await h.create("second", "coder");
  const notes = await h.create("notes", "writer");
  await h.until(async () => (await h.status(notes.id)) === "done");
  for (let i = 0; i < 3; i++) await h.until(() => true);
  assert.equal((await h.store.listRuns(second.id)).length, 0, "held: never claimed");
  assert.equal((await h.store.listRuns(first.id)).length, 1, "held: not retried");
  const why = await h.store.why(second.id);
  assert.ok(why.reasons.some((r) => r.code === "quota"), JSON.stringify(why.reasons));

  await h.store.releaseHold("coder", HUMAN);
  await h.until(async () =>
    (await h.store.listRuns(first.id)).length + (await h.store.listRuns(second.id)).length >= 2
  );
});
