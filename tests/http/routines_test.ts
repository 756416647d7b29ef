/** Routine routes: list with next times, pause and resume, run-now once per key, status. */
import assert from "node:assert/strict";
import type { z } from "zod";
import * as shapes from "../../lib/http/shapes.ts";
import { HUMAN } from "../_setup.ts";
import { appSetup, conforms } from "./_app.ts";

type Routine = z.output<typeof shapes.Routine>;
type Firing = z.output<typeof shapes.Firing>;

Deno.test("GET /api/v1/routines lists routines with their next time; pause, resume, run", async () => {
  await using a = appSetup();
  await a.b.store.addRoutine({
    name: "standup",
    cron: "0 9 * * 1-5",
    tz: "Europe/Paris",
    task: { title: "Standup notes", assignee: "writer" },
  }, HUMAN);
  const list = await a.ok<Routine[]>("GET", "/api/v1/routines");
  conforms(shapes.Routines, list);
  assert.deepEqual(list.map((r) => [r.name, r.paused, r.next_at]), [
    // the test clock starts on Thursday 2026-01-01; 09:00 in Paris is 08:00 UTC in winter
    ["standup", false, "2026-01-01T08:00:00.000Z"],
  ]);
  const paused = await a.ok<Routine>("POST", "/api/v1/routines/standup/pause");
  conforms(shapes.Routine, paused);
  assert.equal(paused.paused, true);
  const status = await a.ok<z.output<typeof shapes.Health>>("GET", "/api/v1/status");
  conforms(shapes.Health, status);
  assert.deepEqual(status.routines.map((r) => [r.name, r.paused, r.next_at]), [
    ["standup", true, null],
  ]);

  const fired = await a.ok<Firing>("POST", "/api/v1/routines/standup/run", { key: "k1" });
  conforms(shapes.Firing, fired);
  assert.equal(fired.created, true);
  assert.equal(fired.tasks.length, 1);
  const again = await a.ok<Firing>("POST", "/api/v1/routines/standup/run", { key: "k1" });
  assert.deepEqual([again.created, again.tasks], [false, fired.tasks]);
  const resumed = await a.ok<Routine>("POST", "/api/v1/routines/standup/resume");
  assert.equal(resumed.paused, false);

  const missing = await a.fails("POST", "/api/v1/routines/nope/pause", undefined, 404, "not_found");
  assert.match(missing, /No routine "nope" \(routines: standup\)/);
  const bad = await a.fails(
    "POST",
    "/api/v1/routines/standup/run",
    { key: "a b" },
    400,
    "invalid_input",
  );
  assert.match(bad, /Invalid run key "a b"/);
  await a.fails("POST", "/api/v1/routines/standup/run", { keys: "x" }, 400, "invalid_input");
});
