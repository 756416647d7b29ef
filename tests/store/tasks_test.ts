import assert from "node:assert/strict";
import {
  AmbiguousIdError,
  ConflictError,
  NotFoundError,
  ValidationError,
} from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, boardState, eventKinds } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const T0 = "2026-01-01T00:00:00.000Z";

conformance("createTask() stores every field it is given", async (drv) => {
  await using b = await drv.fresh();
  const parent = await add(b.store, "schema");
  const { task, created } = await b.store.createTask({
    title: "api",
    body: "# Build the API\n\nUse the schema.",
    assignee: "coder",
    parents: [parent.id],
    priority: 7,
    tenant: "acme",
    workspace: "dir:/srv/acme",
    skills: ["typescript", "sql"],
    needs: ["macos", "gpu", "macos"],
    max_runtime_seconds: 900,
    review_required: true,
    idempotency_key: "api-1",
    created_by: "planner",
  }, HUMAN);
  assert.equal(created, true);
  assert.match(task.id, /^t_[0-9a-f]{8}$/);
  assert.deepEqual({ ...task, id: "" }, {
    id: "",
    title: "api",
    body: "# Build the API\n\nUse the schema.",
    status: "todo",
    assignee: "coder",
    priority: 7,
    tenant: "acme",
    created_by: "planner",
    created_at: T0,
    updated_at: T0,
    started_at: null,
    completed_at: null,
    workspace: "dir:/srv/acme",
    skills: ["typescript", "sql"],
    needs: ["gpu", "macos"],
    block_kind: null,
    blocked_on: null,
    block_counts: {},
    reviewer: null,
    review_rounds: null,
    gate: null,
    max_runtime_seconds: 900,
    not_before: null,
    review_required: true,
    idempotency_key: "api-1",
    consecutive_failures: 0,
    retry_after: null,
    last_error: null,
    blocked_reason: null,
    current_run_id: null,
    result: null,
    archived_from: null,
  });
  assert.deepEqual(await b.store.getTask(task.id), task);
  const shown = await b.store.showTask(task.id);
  assert.deepEqual(shown.parents.map((p) => p.id), [parent.id]);
});

conformance(
  "createTask() fills in defaults: ready, priority 0, scratch workspace, actor as creator",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "plain");
    assert.equal(task.status, "ready");
    assert.equal(task.priority, 0);
    assert.equal(task.workspace, "scratch");
    assert.deepEqual(task.skills, []);
    assert.equal(task.body, "");
    assert.equal(task.assignee, null);
    assert.equal(task.tenant, null);
    assert.equal(task.review_required, false);
    assert.equal(task.created_by, HUMAN.name);
  },
);

conformance(
  "createTask() accepts the workspaces scratch, worktree and dir:/absolute/path",
  async (drv) => {
    await using b = await drv.fresh();
    for (const workspace of ["scratch", "worktree", "dir:/home/me/repo"]) {
      assert.equal((await add(b.store, workspace, { workspace })).workspace, workspace);
    }
  },
);

conformance(
  "createTask() with triage keeps a runnable task in triage until promoted",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "idea", { triage: true });
    assert.equal(task.status, "triage");
    assert.equal(await b.store.claim({}, DISPATCHER), null);
    assert.equal((await b.store.promote(task.id, HUMAN)).status, "ready");
    assert.deepEqual(await eventKinds(b.store, task.id), ["created", "promoted"]);
  },
);

conformance(
  "createTask() with a future not_before schedules it and promoteDue() readies it when due",
  async (drv) => {
    await using b = await drv.fresh();
    const at = b.clock.now() + 60_000;
    const task = await add(b.store, "later", { not_before: at });
    assert.equal(task.status, "scheduled");
    assert.equal(task.not_before, new Date(at).toISOString());
    b.clock.advance(59_999);
    assert.equal(await b.store.promoteDue(HUMAN), 0);
    assert.equal((await b.store.getTask(task.id)).status, "scheduled");
    b.clock.advance(1);
    assert.equal(await b.store.promoteDue(HUMAN), 1);
    assert.equal((await b.store.getTask(task.id)).status, "ready");
    assert.deepEqual(await eventKinds(b.store, task.id), ["created", "derived"]);
  },
);

conformance("createTask() with a past not_before makes the task ready at once", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "overdue", { not_before: b.clock.now() - 1 });
  assert.equal(task.status, "ready");
});

conformance(
  "createTask() with an idempotency key returns the first task and created:false",
  async (drv) => {
    await using b = await drv.fresh();
    const first = await b.store.createTask({ title: "once", idempotency_key: "k1" }, HUMAN);
    const before = await boardState(b.store);
    const again = await b.store.createTask(
      { title: "a different title", idempotency_key: "k1" },
      HUMAN,
    );
    assert.equal(first.created, true);
    assert.equal(again.created, false);
    assert.deepEqual(again.task, first.task);
    assert.deepEqual(await boardState(b.store), before);
  },
);

conformance(
  "createTask() can reuse an idempotency key once the task holding it is archived",
  async (drv) => {
    await using b = await drv.fresh();
    const first = (await b.store.createTask({ title: "v1", idempotency_key: "k" }, HUMAN)).task;
    await b.store.archive(first.id, HUMAN);
    const second = await b.store.createTask({ title: "v2", idempotency_key: "k" }, HUMAN);
    assert.equal(second.created, true);
    assert.notEqual(second.task.id, first.id);
    assert.equal(second.task.title, "v2");
  },
);

conformance("createTask() refuses an unknown parent and creates nothing", async (drv) => {
  await using b = await drv.fresh();
  await add(b.store, "existing");
  const before = await boardState(b.store);
  await assert.rejects(
    b.store.createTask({ title: "orphan", parents: ["t_00000000"] }, HUMAN),
    NotFoundError,
  );
  assert.deepEqual(await boardState(b.store), before);
});

conformance("createTask() refuses a parent that was archived unfinished", async (drv) => {
  await using b = await drv.fresh();
  const parent = await add(b.store, "dropped");
  await b.store.cancel(parent.id, "not needed", HUMAN);
  await assert.rejects(
    b.store.createTask({ title: "child", parents: [parent.id] }, HUMAN),
    (err: unknown) => err instanceof ConflictError && err.code === "archived_parent",
  );
});

conformance("resolveId() accepts t_ab, ab and the whole id", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "one");
  const hex = task.id.slice(2);
  for (
    const ref of [task.id, `t_${hex.slice(0, 2)}`, hex.slice(0, 2), hex, task.id.toUpperCase()]
  ) {
    assert.equal(await b.store.resolveId(ref), task.id, ref);
  }
  assert.equal((await b.store.getTask(hex.slice(0, 3))).id, task.id);
});

conformance(
  "resolveId() refuses a prefix shared by several tasks with AmbiguousIdError",
  async (drv) => {
    await using b = await drv.fresh();
    // 17 ids over 16 possible first hex digits: at least two share one.
    const ids: string[] = [];
    for (let i = 0; i < 17; i++) ids.push((await add(b.store, `t${i}`)).id);
    const shared = [...new Set(ids.map((id) => id[2]))].find((d) =>
      ids.filter((id) => id[2] === d).length > 1
    )!;
    const err = await b.store.resolveId(`t_${shared}`).catch((e: unknown) => e);
    assert.ok(err instanceof AmbiguousIdError);
    assert.equal(err.code, "ambiguous_id");
    assert.match(err.message, new RegExp(`"t_${shared}" matches several tasks`));
    const sharing = ids.filter((id) => id[2] === shared).sort();
    assert.deepEqual(err.candidates.filter((c) => c.startsWith("t_")), sharing.slice(0, 6));
  },
);

conformance("resolveId() throws NotFoundError for an id no task has", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "one");
  const other = task.id.endsWith("0") ? `${task.id.slice(0, -1)}1` : `${task.id.slice(0, -1)}0`;
  const err = await b.store.getTask(other).catch((e: unknown) => e);
  assert.ok(err instanceof NotFoundError);
  assert.equal(err.code, "not_found");
  assert.match(err.message, new RegExp(other));
});

conformance("resolveId() throws ValidationError for text that cannot be an id", async (drv) => {
  await using b = await drv.fresh();
  await add(b.store, "one");
  for (const ref of ["", "xyz", "t_zz", "t_123456789", "'; DROP TABLE tasks; --", "t_ab cd"]) {
    const err = await b.store.resolveId(ref).catch((e: unknown) => e);
    assert.ok(err instanceof ValidationError, ref);
    assert.equal(err.code, "invalid_input");
    assert.match(err.message, /is not a task id/);
  }
});

conformance(
  "listTasks() leaves out archived tasks and bodies, and orders by status then priority",
  async (drv) => {
    await using b = await drv.fresh();
    const low = await add(b.store, "low", { priority: -5, body: "secret" });
    const high = await add(b.store, "high", { priority: 5 });
    const waiting = await add(b.store, "waiting", { parents: [low.id] });
    const gone = await add(b.store, "gone");
    await b.store.archive(gone.id, HUMAN);
    const running = await add(b.store, "running", { priority: -100 });
    await b.store.claim({ taskId: running.id }, DISPATCHER);
    const list = await b.store.listTasks();
    assert.deepEqual(list.map((t) => t.id), [running.id, high.id, low.id, waiting.id]);
    assert.equal("body" in list[0]!, false);
    const all = await b.store.listTasks({ archived: true });
    assert.deepEqual(all.map((t) => t.id).at(-1), gone.id);
  },
);

conformance(
  "listTasks() filters by status, assignee and tenant, and honours a limit",
  async (drv) => {
    await using b = await drv.fresh();
    const a = await add(b.store, "a", { assignee: "coder", tenant: "acme" });
    const c = await add(b.store, "c", { assignee: "coder", tenant: "globex" });
    const r = await add(b.store, "r", { assignee: "reviewer", tenant: "acme", triage: true });
    const ids = async (f: Parameters<typeof b.store.listTasks>[0]) =>
      (await b.store.listTasks(f)).map((t) => t.id).sort();
    assert.deepEqual(await ids({ assignee: "coder" }), [a.id, c.id].sort());
    assert.deepEqual(await ids({ tenant: "acme" }), [a.id, r.id].sort());
    assert.deepEqual(await ids({ statuses: ["triage"] }), [r.id]);
    assert.deepEqual(await ids({ assignee: "coder", tenant: "globex" }), [c.id]);
    assert.equal((await b.store.listTasks({ limit: 2 })).length, 2);
  },
);

conformance(
  "editTask() changes title, body and priority and records which fields changed",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "draft", { body: "old" });
    b.clock.advance(1000);
    const edited = await b.store.editTask(
      task.id,
      { title: "final", body: "new", priority: 3 },
      HUMAN,
    );
    assert.equal(edited.title, "final");
    assert.equal(edited.body, "new");
    assert.equal(edited.priority, 3);
    assert.equal(edited.updated_at, "2026-01-01T00:00:01.000Z");
    const ev = (await b.store.showTask(task.id)).events.at(-1)!;
    assert.equal(ev.kind, "edited");
    assert.deepEqual(ev.data, { fields: ["title", "body", "priority"] });
  },
);

conformance("editTask() with the values a task already has appends no event", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "same", { priority: 2 });
  await b.store.editTask(task.id, { title: "same", priority: 2 }, HUMAN);
  assert.deepEqual(await eventKinds(b.store, task.id), ["created"]);
});

conformance("editTask() with nothing to change is a ValidationError", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "same");
  await assert.rejects(
    b.store.editTask(task.id, {}, HUMAN),
    (err: unknown) => err instanceof ValidationError && /nothing to change/.test(err.message),
  );
});

conformance("assignTask() sets and clears the assignee and records both ends", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "work");
  assert.equal((await b.store.assignTask(task.id, "coder", HUMAN)).assignee, "coder");
  assert.equal((await b.store.assignTask(task.id, null, HUMAN)).assignee, null);
  const assigned = (await b.store.showTask(task.id)).events.filter((e) => e.kind === "assigned");
  assert.deepEqual(assigned.map((e) => e.data), [
    { from: null, to: "coder" },
    { from: "coder", to: null },
  ]);
  await assert.rejects(b.store.assignTask(task.id, "two words", HUMAN), ValidationError);
});

conformance(
  "updateTask() edits and assigns in one transaction: a bad assignee changes nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "work");
    const both = await b.store.updateTask(task.id, { title: "renamed", assignee: "coder" }, HUMAN);
    assert.deepEqual([both.title, both.assignee], ["renamed", "coder"]);
    assert.equal((await b.store.updateTask(task.id, { assignee: null }, HUMAN)).assignee, null);
    const before = await boardState(b.store);
    await assert.rejects(
      b.store.updateTask(task.id, { title: "again", assignee: "two words" }, HUMAN),
      ValidationError,
    );
    assert.deepEqual(await boardState(b.store), before);
    await assert.rejects(b.store.updateTask(task.id, {}, HUMAN), /nothing to change/);
  },
);

conformance(
  "showTask() returns parents, children, comments, events, runs and what it waits on",
  async (drv) => {
    await using b = await drv.fresh();
    const parent = await add(b.store, "parent");
    const child = await add(b.store, "child", { parents: [parent.id] });
    await b.store.comment(child.id, "hello", HUMAN);
    const shown = await b.store.showTask(child.id);
    assert.equal(shown.task.id, child.id);
    assert.deepEqual(shown.parents.map((p) => ({ ...p })), [{
      id: parent.id,
      title: "parent",
      status: "ready",
      assignee: null,
    }]);
    assert.deepEqual(shown.children, []);
    assert.deepEqual(shown.comments.map((c) => c.body), ["hello"]);
    assert.deepEqual(shown.events.map((e) => e.kind), ["created", "commented"]);
    assert.deepEqual(shown.runs, []);
    // The link rows come straight from SQLite (null prototype): compare their fields.
    assert.deepEqual(shown.waiting_on.map((w) => ({ ...w })), [{ id: parent.id, status: "ready" }]);
    assert.deepEqual((await b.store.showTask(parent.id)).children.map((c) => c.id), [child.id]);
  },
);
