import assert from "node:assert/strict";
import * as shapes from "../../lib/http/shapes.ts";
import { DISPATCHER } from "../_setup.ts";
import { type AppBundle, appSetup, conforms } from "./_app.ts";

interface Task {
  id: string;
  status: string;
  blocked_reason: string | null;
  result: string | null;
  archived_from: string | null;
}

async function newTask(a: AppBundle, body: Record<string, unknown> = {}): Promise<Task> {
  const r = await a.ok<{ task: Task }>("POST", "/api/v1/tasks", { title: "t", ...body }, 201);
  return r.task;
}

const post = <T = Task>(a: AppBundle, path: string, body?: unknown) => a.ok<T>("POST", path, body);

Deno.test("every transition endpoint moves the task through the store's table", async () => {
  await using a = appSetup();
  const t = await newTask(a, { triage: true, assignee: "coder" });
  assert.equal(t.status, "triage");
  const promoted = await post(a, `/api/v1/tasks/${t.id}/promote`);
  conforms(shapes.Task, promoted);
  assert.equal(promoted.status, "ready");

  const blocked = await post(a, `/api/v1/tasks/${t.id}/block`, { reason: "which db?" });
  assert.deepEqual([blocked.status, blocked.blocked_reason], ["blocked", "which db?"]);
  assert.equal((await post(a, `/api/v1/tasks/${t.id}/unblock`)).status, "ready");

  const done = await post(a, `/api/v1/tasks/${t.id}/complete`, {
    summary: "made it",
    metadata: { files: 3 },
    result: "ok",
  });
  assert.deepEqual([done.status, done.result], ["done", "ok"]);
  const completed = (await a.b.store.showTask(t.id)).events.at(-1)!;
  assert.deepEqual(completed.data, {
    from: "ready",
    to: "done",
    summary: "made it",
    metadata: { files: 3 },
    result: "ok",
  });
  assert.equal((await post(a, `/api/v1/tasks/${t.id}/reopen`)).status, "ready");
  const archived = await post(a, `/api/v1/tasks/${t.id}/archive`);
  assert.deepEqual([archived.status, archived.archived_from], ["archived", "ready"]);
  assert.equal((await post(a, `/api/v1/tasks/${t.id}/unarchive`)).status, "ready");
  const cancelled = await post(a, `/api/v1/tasks/${t.id}/cancel`, { reason: "not needed" });
  assert.equal(cancelled.status, "archived");
  assert.equal((await a.b.store.showTask(t.id)).events.at(-1)!.data["reason"], "not needed");

  const r = await newTask(a, { review_required: true });
  assert.equal((await post(a, `/api/v1/tasks/${r.id}/complete`, {})).status, "review");
  const rejected = await post(a, `/api/v1/tasks/${r.id}/review`, {
    decision: "reject",
    reason: "tests fail",
  });
  assert.equal(rejected.status, "ready");
  const detail = await a.b.store.showTask(r.id);
  assert.equal(detail.comments.at(-1)!.body, "Review rejected: tests fail");
  await post(a, `/api/v1/tasks/${r.id}/complete`);
  assert.equal(
    (await post(a, `/api/v1/tasks/${r.id}/review`, { decision: "approve" })).status,
    "done",
  );
});

Deno.test("an illegal transition is a 409 with the store's message naming from and to", async () => {
  await using a = appSetup();
  const t = await newTask(a);
  const m = await a.fails(
    "POST",
    `/api/v1/tasks/${t.id}/promote`,
    undefined,
    409,
    "illegal_transition",
  );
  assert.match(m, new RegExp(`Cannot promote task "${t.id}": it is ready, and ready -> `));
  const r = await a.fails(
    "POST",
    `/api/v1/tasks/${t.id}/review`,
    { decision: "approve" },
    409,
    "illegal_transition",
  );
  assert.match(r, /it is ready, and ready -> done is not allowed/);
  await a.fails("POST", `/api/v1/tasks/${t.id}/reopen`, undefined, 409, "illegal_transition");
  await a.fails("POST", `/api/v1/tasks/${t.id}/unblock`, undefined, 409, "illegal_transition");
  await a.fails("POST", "/api/v1/tasks/t_00000000/promote", undefined, 404, "not_found");
  assert.match(
    await a.fails("POST", `/api/v1/tasks/${t.id}/block`, {}, 400, "invalid_input"),
    /reason/,
  );
  assert.match(
    await a.fails("POST", `/api/v1/tasks/${t.id}/block`, { reason: "  " }, 400, "invalid_input"),
    /reason is empty/,
  );
  assert.match(
    await a.fails(
      "POST",
      `/api/v1/tasks/${t.id}/review`,
      { decision: "maybe" },
      400,
      "invalid_input",
    ),
    /decision/,
  );
  assert.equal((await a.b.store.getTask(t.id)).status, "ready", "nothing changed");
});

Deno.test("a person cancelling a running task closes its run with an outcome that says so", async () => {
  await using a = appSetup();
  const t = await newTask(a, { assignee: "coder" });
  const claim = await a.b.store.claim({ assignees: ["coder"] }, DISPATCHER);
  assert.equal(claim?.task.id, t.id);
  const cancelled = await post(a, `/api/v1/tasks/${t.id}/cancel`, { reason: "wrong idea" });
  assert.equal(cancelled.status, "archived");
  const run = await a.b.store.getRun(claim!.run.id);
  assert.equal(run.outcome, "cancelled");
  assert.match(run.error ?? "", /wrong idea \(by alice\)/);
});

Deno.test("move maps a drop to the one legal action, or refuses with the reason", async () => {
  await using a = appSetup();
  const move = (id: string, body: Record<string, unknown>) =>
    a.ok<{ task: Task; action: string | null; changed: boolean }>(
      "POST",
      `/api/v1/tasks/${id}/move`,
      body,
    );
  const refused = (id: string, body: Record<string, unknown>) =>
    a.fails("POST", `/api/v1/tasks/${id}/move`, body, 409, "illegal_transition");

  const t = await newTask(a, { triage: true });
  assert.match(
    await refused(t.id, { status: "running" }),
    new RegExp(
      `Cannot move task "${t.id}": it is triage, and triage -> running is not allowed ` +
        `\\(only a claim enters running`,
    ),
  );
  const promoted = await move(t.id, { status: "ready" });
  conforms(shapes.Moved, promoted);
  assert.deepEqual([promoted.action, promoted.task.status, promoted.changed], [
    "promote",
    "ready",
    true,
  ]);
  const same = await move(t.id, { status: "ready" });
  assert.deepEqual([same.action, same.changed], [null, false]);
  assert.match(await refused(t.id, { status: "running" }), /ready -> running .*only a claim/);
  assert.match(await refused(t.id, { status: "todo" }), /derived: a task is ready once/);
  assert.match(await refused(t.id, { status: "triage" }), /only new tasks enter triage/);
  assert.match(
    await refused(t.id, { status: "review" }),
    /does not require review: drop it on done/,
  );
  assert.match(
    await a.fails(
      "POST",
      `/api/v1/tasks/${t.id}/move`,
      { status: "blocked" },
      400,
      "invalid_input",
    ),
    /reason is required to block/,
  );
  const blocked = await move(t.id, { status: "blocked", reason: "waiting on legal" });
  assert.deepEqual([blocked.action, blocked.task.blocked_reason], ["block", "waiting on legal"]);
  assert.equal((await move(t.id, { status: "ready" })).action, "unblock");
  const done = await move(t.id, { status: "done", summary: "by hand" });
  assert.deepEqual([done.action, done.task.status], ["complete", "done"]);
  assert.match(
    await refused(t.id, { status: "blocked", reason: "x" }),
    /it is done, and done -> blocked is not allowed \(from done it can go to todo\/ready \(reopen\), archived \(archive\)\)/,
  );
  assert.equal((await move(t.id, { status: "todo" })).action, "reopen");
  const archived = await move(t.id, { status: "archived" });
  assert.equal(archived.action, "archive");
  assert.match(await refused(t.id, { status: "done" }), /unarchiving brings it back to the queue/);
  assert.equal((await move(t.id, { status: "ready" })).action, "unarchive");

  const r = await newTask(a, { review_required: true });
  assert.match(
    await refused(r.id, { status: "done" }),
    /requires review: drop it on review, then approve it/,
  );
  assert.equal((await move(r.id, { status: "review" })).action, "complete");
  assert.equal((await move(r.id, { status: "ready" })).action, "reject");
  await move(r.id, { status: "review" });
  assert.equal((await move(r.id, { status: "done" })).action, "approve");
  await a.fails("POST", `/api/v1/tasks/${r.id}/move`, { status: "doing" }, 400, "invalid_input");
});

Deno.test("bulk applies one action to several ids, with one result per id", async () => {
  await using a = appSetup();
  const x = await newTask(a, { triage: true });
  const y = await newTask(a, { triage: true });
  const z = await newTask(a);
  type Bulk = {
    results: ({ id: string; ok: true; task: Task } | {
      id: string;
      ok: false;
      error: { code: string; message: string };
    })[];
    succeeded: number;
    failed: number;
  };
  const r = await post<Bulk>(a, "/api/v1/tasks/bulk", {
    ids: [x.id, y.id, z.id, "t_00000000"],
    action: "promote",
  });
  conforms(shapes.BulkResult, r);
  assert.deepEqual([r.succeeded, r.failed], [2, 2]);
  assert.deepEqual(r.results.map((x) => x.ok), [true, true, false, false]);
  const third = r.results[2]!;
  assert.ok(!third.ok && third.error.code === "illegal_transition");
  const fourth = r.results[3]!;
  assert.ok(!fourth.ok && fourth.error.code === "not_found");

  const blocked = await post<Bulk>(a, "/api/v1/tasks/bulk", {
    ids: [x.id, y.id],
    action: "block",
    reason: "freeze",
  });
  assert.equal(blocked.succeeded, 2);
  const moved = await post<Bulk>(a, "/api/v1/tasks/bulk", {
    ids: [x.id, y.id, z.id],
    action: "move",
    status: "running",
  });
  assert.equal(moved.failed, 3);
  const first = moved.results[0]!;
  assert.ok(!first.ok && /only a claim enters running/.test(first.error.message));
  const archived = await post<Bulk>(a, "/api/v1/tasks/bulk", {
    ids: [x.id, z.id],
    action: "move",
    status: "archived",
  });
  assert.equal(archived.succeeded, 2);

  for (
    const [body, message] of [
      [{ ids: [x.id], action: "block" }, /reason is required to block/],
      [{ ids: [x.id], action: "move" }, /status is required to move/],
      [{ ids: [], action: "promote" }, /ids is empty/],
      [{ ids: [x.id], action: "claim" }, /action/],
    ] as const
  ) {
    assert.match(await a.fails("POST", "/api/v1/tasks/bulk", body, 400, "invalid_input"), message);
  }
});

Deno.test("POST block takes a kind and its fields; a bad kind or field is a 400 naming it", async () => {
  await using a = appSetup();
  const api = await newTask(a, { title: "api" });
  const t = await newTask(a, { assignee: "coder" });
  const c = await a.b.store.claim({ taskId: t.id, profile: "coder" }, DISPATCHER);
  assert.ok(c);
  const blocked = await post<Task & { block_kind: string; blocked_on: string }>(
    a,
    `/api/v1/tasks/${t.id}/block`,
    { reason: "needs the api", kind: "dependency", on: api.id },
  );
  conforms(shapes.Task, blocked);
  assert.deepEqual(
    [blocked.status, blocked.block_kind, blocked.blocked_on],
    ["todo", "dependency", api.id],
  );
  assert.match(
    await a.fails(
      "POST",
      `/api/v1/tasks/${api.id}/block`,
      {
        reason: "x",
        kind: "later",
      },
      400,
      "invalid_input",
    ),
    /kind/,
  );
  assert.match(
    await a.fails(
      "POST",
      `/api/v1/tasks/${api.id}/block`,
      {
        reason: "x",
        kind: "needs_input",
        on: t.id,
      },
      400,
      "invalid_input",
    ),
    /on \(the task waited on\) goes with a dependency block, not needs_input/,
  );
  assert.match(
    await a.fails(
      "POST",
      `/api/v1/tasks/${api.id}/block`,
      {
        reason: "x",
        kind: "transient",
      },
      409,
      "not_running",
    ),
    /a transient block stops a running task/,
  );
  const triaged = await post(a, `/api/v1/tasks/${api.id}/block`, {
    reason: "another profile",
    kind: "capability",
  });
  assert.equal(triaged.status, "triage");
});
