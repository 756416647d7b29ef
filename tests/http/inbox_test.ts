import assert from "node:assert/strict";
import type { z } from "zod";
import * as shapes from "../../lib/http/shapes.ts";
import { HUMAN } from "../_setup.ts";
import { type AppBundle, appSetup, conforms } from "./_app.ts";

type Inbox = z.output<typeof shapes.Inbox>;
type Reply = z.output<typeof shapes.Reply>;

async function newTask(a: AppBundle, body: Record<string, unknown>): Promise<string> {
  return (await a.b.store.createTask({ title: "t", ...body }, HUMAN)).task.id;
}

Deno.test("GET /api/v1/inbox lists what waits on a person, oldest wait first, with counts", async () => {
  await using a = appSetup();
  const asks = await newTask(a, { title: "asks", tenant: "acme" });
  a.b.clock.advance(1000);
  await newTask(a, { title: "idea", triage: true, tenant: "globex" });
  a.b.clock.advance(1000);
  const checked = await newTask(a, { title: "checked", review_required: true, tenant: "acme" });
  await a.b.store.complete(checked, { summary: "All **done**." }, HUMAN);
  a.b.clock.advance(1000);
  await a.b.store.block(asks, "Which region?", HUMAN);
  await a.b.store.comment(asks, "any news?", { name: "bob" });

  const box = await a.ok<Inbox>("GET", "/api/v1/inbox");
  conforms(shapes.Inbox, box);
  assert.deepEqual(box.items.map((i) => [i.title, i.kind]), [
    ["idea", "triage"],
    ["checked", "review"],
    ["asks", "question"],
  ]);
  assert.deepEqual([box.total, box.by_kind], [3, { question: 1, review: 1, triage: 1 }]);
  assert.equal(box.items[1]!.summary, "All **done**.");
  assert.equal(box.items[2]!.question, "Which region?");
  assert.equal(box.items[2]!.last_comment?.body, "any news?");

  const acme = await a.ok<Inbox>("GET", "/api/v1/inbox?tenant=acme&limit=1");
  assert.deepEqual(acme.items.map((i) => i.title), ["checked"]);
  assert.equal(acme.total, 2);
});

Deno.test("GET /api/v1/inbox refuses a bad limit or an unknown parameter with a 400 naming it", async () => {
  await using a = appSetup();
  assert.match(
    await a.fails("GET", "/api/v1/inbox?limit=0", undefined, 400, "invalid_input"),
    /limit is below 1/,
  );
  assert.match(
    await a.fails("GET", "/api/v1/inbox?limit=many", undefined, 400, "invalid_input"),
    /limit is not a whole number/,
  );
  assert.match(
    await a.fails("GET", "/api/v1/inbox?limit=5001", undefined, 400, "invalid_input"),
    /limit is above 5000/,
  );
  assert.match(
    await a.fails("GET", "/api/v1/inbox?status=blocked", undefined, 400, "invalid_input"),
    /status/,
  );
});

Deno.test("POST /api/v1/tasks/{id}/reply comments as the person serving and unblocks the task", async () => {
  await using a = appSetup();
  const id = await newTask(a, { title: "asks" });
  await a.b.store.block(id, "Which port?", HUMAN);
  const r = await a.ok<Reply>("POST", `/api/v1/tasks/${id}/reply`, { body: "Use 8080." });
  conforms(shapes.Reply, r);
  assert.equal(r.task.status, "ready");
  assert.equal(r.task.blocked_reason, null);
  assert.deepEqual([r.comment.author, r.comment.body], ["alice", "Use 8080."]);
  const shown = await a.b.store.showTask(id);
  assert.deepEqual(shown.comments.map((c) => c.body), ["Use 8080."]);
  assert.deepEqual(shown.events.slice(-2).map((e) => e.kind), ["commented", "unblocked"]);
});

Deno.test("POST /api/v1/tasks/{id}/reply refuses what it cannot answer, and writes nothing", async () => {
  await using a = appSetup();
  const ready = await newTask(a, { title: "ready" });
  const blocked = await newTask(a, { title: "asks" });
  await a.b.store.block(blocked, "?", HUMAN);
  const message = await a.fails(
    "POST",
    `/api/v1/tasks/${ready}/reply`,
    { body: "hello" },
    409,
    "illegal_transition",
  );
  assert.match(message, new RegExp(`Cannot reply to task "${ready}": it is ready`));
  assert.equal(
    await a.fails("POST", `/api/v1/tasks/${blocked}/reply`, { body: " " }, 400, "invalid_input"),
    `Cannot reply to task "${blocked}": the reply is empty`,
  );
  assert.match(
    await a.fails("POST", `/api/v1/tasks/${blocked}/reply`, {}, 400, "invalid_input"),
    /body/,
  );
  assert.match(
    await a.fails(
      "POST",
      `/api/v1/tasks/${blocked}/reply`,
      { body: "x", author: "mallory" },
      400,
      "invalid_input",
    ),
    /author/,
  );
  await a.fails("POST", "/api/v1/tasks/t_ffffffff/reply", { body: "x" }, 404, "not_found");
  for (const id of [ready, blocked]) {
    assert.deepEqual((await a.b.store.showTask(id)).comments, []);
  }
  assert.equal((await a.b.store.getTask(blocked)).status, "blocked");
});

Deno.test("the inbox routes are in the OpenAPI document", async () => {
  await using a = appSetup();
  const doc = await a.ok<{ paths: Record<string, Record<string, unknown>> }>(
    "GET",
    "/api/v1/openapi.json",
  );
  assert.ok(doc.paths["/api/v1/inbox"]?.["get"]);
  assert.ok(doc.paths["/api/v1/tasks/{id}/reply"]?.["post"]);
});
