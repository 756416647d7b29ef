/** GET /api/v1/tasks/{id}/why: the why read model over HTTP, documented shape, 404 by name. */
import assert from "node:assert/strict";
import * as shapes from "../../lib/http/shapes.ts";
import { appSetup, conforms } from "./_app.ts";

type Created = { task: { id: string } };
type Why = { task: string; status: string; reasons: { code: string; detail: unknown }[] };

Deno.test("GET /api/v1/tasks/{id}/why lists the reasons a task waits, by prefix; an unknown id is 404", async () => {
  await using a = appSetup();
  const parent = await a.ok<Created>(
    "POST",
    "/api/v1/tasks",
    { title: "p", assignee: "coder" },
    201,
  );
  const child = await a.ok<Created>("POST", "/api/v1/tasks", {
    title: "c",
    assignee: "coder",
    parents: [parent.task.id],
  }, 201);
  const w = await a.ok<Why>("GET", `/api/v1/tasks/${child.task.id.slice(0, 7)}/why`);
  conforms(shapes.Why, w);
  assert.equal(w.task, child.task.id);
  assert.equal(w.status, "todo");
  assert.deepEqual(w.reasons.map((r) => r.code), ["parents", "no_dispatcher"]);
  const p = await a.ok<Why>("GET", `/api/v1/tasks/${parent.task.id}/why`);
  assert.deepEqual(p.reasons.map((r) => r.code), ["no_dispatcher"]);
  const message = await a.fails("GET", "/api/v1/tasks/t_ffffffff/why", undefined, 404, "not_found");
  assert.match(message, /No task matches "t_ffffffff"/);
});
