import assert from "node:assert/strict";
import * as shapes from "../../lib/http/shapes.ts";
import { appSetup, conforms, XSS } from "./_app.ts";

interface Task {
  id: string;
  title: string;
  body: string;
  status: string;
  assignee: string | null;
  priority: number;
}
type Created = { task: Task; created: boolean };
type Column = { status: string; count: number; tasks: Task[] };

Deno.test("POST /api/v1/tasks creates a task; the same idempotency key returns it (200)", async () => {
  await using a = appSetup();
  const made = await a.ok<Created>("POST", "/api/v1/tasks", {
    title: "schema",
    body: "# users\n",
    assignee: "coder",
    priority: 5,
    tenant: "acme",
    skills: ["sql"],
    review_required: true,
    idempotency_key: "k1",
    not_before: "2026-01-01T00:00:00Z",
  }, 201);
  conforms(shapes.Created, made);
  assert.equal(made.created, true);
  assert.equal(made.task.status, "ready");
  assert.equal(made.task.priority, 5);
  const again = await a.ok<Created>("POST", "/api/v1/tasks", {
    title: "something else",
    idempotency_key: "k1",
  }, 200);
  assert.deepEqual(again, { task: made.task, created: false });
  const child = await a.ok<Created>("POST", "/api/v1/tasks", {
    title: "api",
    parents: [made.task.id.slice(0, 6)],
    workspace: "dir:/tmp",
  }, 201);
  assert.equal(child.task.status, "todo");
  const later = await a.ok<Created>("POST", "/api/v1/tasks", {
    title: "later",
    not_before: Date.parse("2027-01-01T00:00:00Z"),
  }, 201);
  assert.equal(later.task.status, "scheduled");
});

Deno.test("priority is a name or a number on create and edit, as the CLI and MCP take it", async () => {
  await using a = appSetup();
  const made = await a.ok<Created>("POST", "/api/v1/tasks", {
    title: "x",
    priority: "urgent",
  }, 201);
  assert.equal(made.task.priority, 2);
  const edited = await a.ok<Task>("PATCH", `/api/v1/tasks/${made.task.id}`, { priority: "low" });
  assert.equal(edited.priority, -1);
  const numbered = await a.ok<Task>("PATCH", `/api/v1/tasks/${made.task.id}`, { priority: 7 });
  assert.equal(numbered.priority, 7);
  const m = await a.fails(
    "PATCH",
    `/api/v1/tasks/${made.task.id}`,
    { priority: "HIGH" },
    400,
    "invalid_input",
  );
  assert.match(
    m,
    /priority must be a whole number from -1000 to 1000, or low, normal, high, urgent/,
  );
  assert.equal(
    (await a.b.store.getTask(made.task.id)).priority,
    7,
    "a refused edit changes nothing",
  );
});

Deno.test("invalid input is a 400 whose message names the field", async () => {
  await using a = appSetup();
  const cases: [unknown, RegExp][] = [
    [{}, /title: .*expected string/],
    [{ title: "" }, /title is empty/],
    [{ title: "x", assigne: "coder" }, /Unrecognized key: "assigne"/],
    [{ title: "x", priority: 1.5 }, /priority must be a whole number/],
    [{ title: "x", priority: "soon" }, /priority must be a whole number .* or low, normal/],
    [{ title: "x", priority: 1001 }, /priority is above 1000/],
    [{ title: "x", assignee: "no spaces" }, /assignee may hold only/],
    [{ title: "x", workspace: "elsewhere" }, /workspace "elsewhere" is not/],
    [{ title: "x", not_before: "tomorrow" }, /not_before/],
    [{ title: "two\nlines" }, /title must be one line/],
    [[1, 2], /expected object/],
  ];
  for (const [body, message] of cases) {
    const m = await a.fails("POST", "/api/v1/tasks", body, 400, "invalid_input");
    assert.match(m, message, JSON.stringify(body));
  }
  assert.match(
    await a.fails("POST", "/api/v1/tasks", "{not json", 400, "invalid_input"),
    /not valid JSON/,
  );
  assert.equal((await a.b.store.listTasks()).length, 0);
});

Deno.test("GET /api/v1/tasks/{id} returns the detail, by any unique prefix; unknown is 404", async () => {
  await using a = appSetup();
  const p = (await a.ok<Created>("POST", "/api/v1/tasks", { title: "parent" }, 201)).task;
  const c = (await a.ok<Created>("POST", "/api/v1/tasks", {
    title: "child",
    parents: [p.id],
  }, 201)).task;
  await a.ok("POST", `/api/v1/tasks/${c.id}/comments`, { body: "hello" }, 201);
  const detail = await a.ok<Record<string, unknown>>("GET", `/api/v1/tasks/${c.id.slice(2, 7)}`);
  conforms(shapes.TaskDetail, detail);
  assert.deepEqual(Object.keys(detail), [
    "task",
    "parents",
    "children",
    "comments",
    "events",
    "runs",
    "waiting_on",
  ]);
  assert.equal((detail["parents"] as Task[])[0]!.id, p.id);
  assert.deepEqual(detail["waiting_on"], [{ id: p.id, status: "ready" }]);
  assert.match(
    await a.fails("GET", "/api/v1/tasks/t_00000000", undefined, 404, "not_found"),
    /t_0/,
  );
  await a.fails("GET", "/api/v1/tasks/zzz", undefined, 400, "invalid_input");
});

Deno.test("PATCH /api/v1/tasks/{id} edits title, body, priority and assignee", async () => {
  await using a = appSetup();
  const t = (await a.ok<Created>("POST", "/api/v1/tasks", { title: "a" }, 201)).task;
  const edited = await a.ok<Task>("PATCH", `/api/v1/tasks/${t.id}`, {
    title: "b",
    body: "more",
    priority: 3,
    assignee: "coder",
  });
  conforms(shapes.Task, edited);
  assert.deepEqual(
    [edited.title, edited.body, edited.priority, edited.assignee],
    ["b", "more", 3, "coder"],
  );
  const unassigned = await a.ok<Task>("PATCH", `/api/v1/tasks/${t.id}`, { assignee: null });
  assert.equal(unassigned.assignee, null);
  assert.match(
    await a.fails("PATCH", `/api/v1/tasks/${t.id}`, {}, 400, "invalid_input"),
    /nothing to change/,
  );
  await a.fails(
    "PATCH",
    `/api/v1/tasks/${t.id}`,
    { title: "", assignee: "x" },
    400,
    "invalid_input",
  );
  assert.equal((await a.b.store.getTask(t.id)).assignee, null, "a refused edit changed nothing");
});

Deno.test("text with HTML in title, body, comment and author comes back as plain JSON data", async () => {
  await using a = appSetup();
  const t = (await a.ok<Created>("POST", "/api/v1/tasks", { title: XSS, body: XSS }, 201)).task;
  const comment = await a.ok<{ author: string; body: string }>(
    "POST",
    `/api/v1/tasks/${t.id}/comments`,
    { body: XSS, author: XSS },
    201,
  );
  conforms(shapes.Comment, comment);
  assert.equal(comment.author, XSS);
  const r = await a.call("GET", `/api/v1/tasks/${t.id}`);
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");
  const detail = await r.json();
  assert.equal(detail.task.title, XSS);
  assert.equal(detail.task.body, XSS);
  assert.equal(detail.comments[0].body, XSS);
  assert.equal(detail.comments[0].author, XSS);
  const event = detail.events.find((e: { kind: string }) => e.kind === "commented");
  assert.equal(event.actor, XSS);
});

Deno.test("links: add, refuse a cycle and a self link (409), remove; unknown link is 404", async () => {
  await using a = appSetup();
  const p = (await a.ok<Created>("POST", "/api/v1/tasks", { title: "p" }, 201)).task;
  const c = (await a.ok<Created>("POST", "/api/v1/tasks", { title: "c" }, 201)).task;
  const linked = await a.ok("POST", "/api/v1/links", { parent: p.id, child: c.id });
  conforms(shapes.LinkResult, linked);
  assert.deepEqual(linked, { parent: p.id, child: c.id, changed: true, child_status: "todo" });
  assert.equal((await a.b.store.getTask(c.id)).status, "todo");
  assert.match(
    await a.fails("POST", "/api/v1/links", { parent: c.id, child: p.id }, 409, "cycle"),
    /would make a cycle/,
  );
  await a.fails("POST", "/api/v1/links", { parent: p.id, child: p.id }, 409, "self_link");
  const removed = await a.ok("DELETE", `/api/v1/links?parent=${p.id}&child=${c.id}`);
  conforms(shapes.LinkResult, removed);
  assert.deepEqual(removed, { parent: p.id, child: c.id, changed: true, child_status: "ready" });
  assert.equal((await a.b.store.getTask(c.id)).status, "ready");
  await a.fails(
    "DELETE",
    `/api/v1/links?parent=${p.id}&child=${c.id}`,
    undefined,
    404,
    "not_found",
  );
  await a.fails("DELETE", `/api/v1/links?parent=${p.id}`, undefined, 400, "invalid_input");
});

Deno.test("GET /api/v1/board: a column per status with counts, filters, archived only if asked", async () => {
  await using a = appSetup();
  const add = async (body: Record<string, unknown>) =>
    (await a.ok<Created>("POST", "/api/v1/tasks", body, 201)).task;
  const t1 = await add({ title: "Fix login bug", assignee: "coder", tenant: "acme", priority: 1 });
  await add({ title: "write docs", assignee: "writer", tenant: "acme" });
  await add({ title: "other tenant", assignee: "coder", tenant: "globex", triage: true });
  const gone = await add({ title: "old LOGIN thing", assignee: "coder", tenant: "acme" });
  await a.ok("POST", `/api/v1/tasks/${gone.id}/archive`);

  const board = await a.ok<{ columns: Column[]; total: number }>("GET", "/api/v1/board");
  conforms(shapes.Board, board);
  assert.deepEqual(board.columns.map((c) => c.status), [
    "triage",
    "todo",
    "scheduled",
    "ready",
    "running",
    "review",
    "done",
    "blocked",
  ]);
  const col = (b: { columns: Column[] }, s: string) => b.columns.find((c) => c.status === s)!;
  assert.equal(board.total, 3);
  assert.equal(col(board, "ready").count, 2);
  assert.equal(col(board, "ready").tasks[0]!.id, t1.id, "higher priority first");
  assert.equal("body" in col(board, "ready").tasks[0]!, false, "no bodies on the board");

  const acme = await a.ok<{ columns: Column[]; total: number }>(
    "GET",
    "/api/v1/board?tenant=acme&assignee=coder",
  );
  assert.equal(acme.total, 1);
  const search = await a.ok<{ total: number; columns: Column[] }>(
    "GET",
    "/api/v1/board?search=login&archived=true",
  );
  assert.equal(search.total, 2, "case-insensitive, archived included when asked");
  const wild = await a.ok<{ total: number }>("GET", "/api/v1/board?search=%25");
  assert.equal(wild.total, 0, "% is a character to find, not a wildcard");
  const byId = await a.ok<{ total: number }>("GET", `/api/v1/board?search=${t1.id.slice(2, 8)}`);
  assert.equal(byId.total, 1);
  assert.equal(col(search, "archived").count, 1);
  const limited = await a.ok<{ columns: Column[] }>("GET", "/api/v1/board?limit=1");
  assert.equal(col(limited, "ready").count, 2);
  assert.equal(col(limited, "ready").tasks.length, 1);
  assert.match(
    await a.fails("GET", "/api/v1/board?limit=0", undefined, 400, "invalid_input"),
    /limit is below 1/,
  );
  assert.match(
    await a.fails("GET", "/api/v1/board?archived=maybe", undefined, 400, "invalid_input"),
    /archived/,
  );
  await a.fails("GET", "/api/v1/board?colour=red", undefined, 400, "invalid_input");

  const list = await a.ok<Task[]>("GET", "/api/v1/tasks?status=ready,triage&tenant=acme");
  conforms(shapes.TaskSummaries, list);
  assert.equal(list.length, 2);
  assert.match(
    await a.fails("GET", "/api/v1/tasks?status=doing", undefined, 400, "invalid_input"),
    /"doing" is not a status/,
  );
});

Deno.test("a task's gate: set by POST and PATCH, in the task detail with the last gate's result", async () => {
  await using a = appSetup();
  const t = (await a.ok<Created>("POST", "/api/v1/tasks", {
    title: "gated",
    assignee: "coder",
    gate: ["make", "check"],
    gate_rounds: 2,
  }, 201)).task;
  const edited = await a.ok<Task & { gate: unknown }>("PATCH", `/api/v1/tasks/${t.id}`, {
    gate_timeout_ms: 90_000,
  });
  conforms(shapes.Task, edited);
  assert.deepEqual(edited.gate, { argv: ["make", "check"], timeout_ms: 90_000, rounds: 2 });
  const c = (await a.b.store.claim({ taskId: t.id, profile: "coder" }, { name: "dispatcher" }))!;
  await a.b.store.complete(t.id, { summary: "done" }, { name: "coder-1", token: c.token });
  const detail = await a.ok<{ task: { gate: unknown }; gate_result: unknown; runs: unknown[] }>(
    "GET",
    `/api/v1/tasks/${t.id}`,
  );
  conforms(shapes.TaskDetail, detail);
  assert.deepEqual(detail.gate_result, {
    state: "pending",
    round: 1,
    rounds: 2,
    exit_code: null,
    duration_ms: null,
    run: c.run.id,
    at: (detail.gate_result as { at: string }).at,
  });
  assert.equal((detail.runs.at(-1) as { gate_pending: boolean }).gate_pending, true);
  const none = await a.ok<Task & { gate: unknown }>("PATCH", `/api/v1/tasks/${t.id}`, {
    gate: [],
  });
  assert.deepEqual(none.gate, { argv: [], timeout_ms: null, rounds: null });
});
