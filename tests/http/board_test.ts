import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { boardHealth } from "../../lib/dispatch/health.ts";
import * as shapes from "../../lib/http/shapes.ts";
import { openStore } from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { appSetup, conforms } from "./_app.ts";

Deno.test("stats and assignees are the store's, in the documented shapes", async () => {
  await using a = appSetup();
  await a.b.store.createTask({ title: "a", assignee: "coder", tenant: "acme" }, DISPATCHER);
  await a.b.store.createTask({ title: "b", assignee: "writer" }, DISPATCHER);
  const stats = await a.ok("GET", "/api/v1/stats");
  conforms(shapes.Stats, stats);
  assert.deepEqual(stats, await a.b.store.stats());
  assert.deepEqual(await a.ok("GET", "/api/v1/stats?tenant=acme"), await a.b.store.stats("acme"));
  const assignees = await a.ok("GET", "/api/v1/assignees");
  conforms(shapes.Assignees, assignees);
  assert.deepEqual(assignees, await a.b.store.assignees());
});

Deno.test("GET /api/v1/status is what kanban status computes (lib/dispatch/health.ts)", async () => {
  await using a = appSetup({ env: { KANBAN_HOME: "/nonexistent", PATH: "/usr/bin:/bin" } });
  await a.b.store.createTask({ title: "a", assignee: "ghost" }, DISPATCHER);
  const status = await a.ok<{ warnings: string[] }>("GET", "/api/v1/status");
  conforms(shapes.Health, status);
  const now = a.b.clock.now();
  assert.deepEqual(
    status,
    await boardHealth({ store: a.b.store, env: { KANBAN_HOME: "/nonexistent" }, now }),
  );
  assert.ok(status.warnings.some((w) => /no dispatcher holds this board/.test(w)));
});

Deno.test("the dispatch nudge writes an event that another connection sees at once", async () => {
  await using a = appSetup();
  using other = openStore(a.b.path); // a dispatcher's own connection
  const before = await other.changeMark();
  const { event } = await a.ok<{ event: { kind: string; actor: string; id: number } }>(
    "POST",
    "/api/v1/dispatch/nudge",
    undefined,
    202,
  );
  conforms(shapes.TaskEvent, event);
  assert.equal(event.kind, "dispatch_requested");
  assert.equal(event.actor, "alice");
  assert.notEqual(await other.changeMark(), before, "the dispatcher's change mark moved");
  assert.equal(await other.eventHead(), event.id);
});

Deno.test("the run log route returns the log's end across rotation, cut on a character", async () => {
  await using a = appSetup();
  const t = await a.b.store.createTask({ title: "a", assignee: "coder" }, DISPATCHER);
  const claim = (await a.b.store.claim({ assignees: ["coder"] }, DISPATCHER))!;
  const log = join(a.b.dir, "run-1.log");
  await a.b.store.recordSpawn(claim.run.id, {
    pid: 1,
    pid_start_time: null,
    host: "h",
    log_path: log,
    workspace: null,
  }, DISPATCHER);
  await a.fails("GET", `/api/v1/runs/${claim.run.id}/log`, undefined, 404, "not_found");
  writeFileSync(`${log}.1`, "old part\n");
  writeFileSync(log, "new part: é\n");
  const all = await a.ok<{ text: string; truncated: boolean; size: number }>(
    "GET",
    `/api/v1/runs/${claim.run.id}/log`,
  );
  conforms(shapes.LogTail, all);
  assert.deepEqual(all, {
    run: claim.run.id,
    task: t.task.id,
    path: log,
    size: 22,
    truncated: false,
    text: "old part\nnew part: é\n",
  });
  // The last 2 bytes start inside "é" (2 bytes): the broken half is dropped.
  const end = await a.ok<{ text: string; truncated: boolean }>(
    "GET",
    `/api/v1/runs/${claim.run.id}/log?bytes=2`,
  );
  assert.deepEqual([end.text, end.truncated], ["\n", true]);
  const across = await a.ok<{ text: string }>("GET", `/api/v1/runs/${claim.run.id}/log?bytes=15`);
  assert.equal(across.text, "t\nnew part: é\n");
  await a.fails("GET", "/api/v1/runs/999/log", undefined, 404, "not_found");
  await a.fails("GET", "/api/v1/runs/abc/log", undefined, 404, "not_found");
  await a.fails("GET", `/api/v1/runs/${claim.run.id}/log?bytes=0`, undefined, 400, "invalid_input");

  const other = await a.b.store.createTask({ title: "b", assignee: "coder" }, DISPATCHER);
  const bare = (await a.b.store.claim({ assignees: ["coder"] }, DISPATCHER))!;
  assert.equal(bare.task.id, other.task.id);
  assert.match(
    await a.fails("GET", `/api/v1/runs/${bare.run.id}/log`, undefined, 404, "not_found"),
    /has no log/,
  );
});

Deno.test("status names the task of every open run", async () => {
  await using a = appSetup({ env: { KANBAN_HOME: "/nonexistent", PATH: "/usr/bin:/bin" } });
  for (const title of ["first", "second", "waits"]) {
    await a.b.store.createTask({ title, assignee: "coder" }, DISPATCHER);
  }
  const claims = [
    (await a.b.store.claim({ assignees: ["coder"] }, DISPATCHER))!,
    (await a.b.store.claim({ assignees: ["coder"] }, DISPATCHER))!,
  ];
  const status = await a.ok<{ workers: { run: number; task: string; title: string }[] }>(
    "GET",
    "/api/v1/status",
  );
  assert.deepEqual(
    status.workers.map((w) => [w.run, w.task, w.title]).sort(),
    claims.map((c) => [c.run.id, c.task.id, c.task.title]).sort(),
  );
});

// What the cards say: waits_for and handoff --------------------------------------------------

interface BoardTaskJson {
  id: string;
  status: string;
  waits_for?: { count: number; parents: { id: string; title: string; status: string }[] };
  handoff?: string;
}
interface BoardJson {
  columns: { status: string; count: number; tasks: BoardTaskJson[] }[];
}

/** cardOf finds task `id` on a board answer. */
function cardOf(board: BoardJson, id: string): BoardTaskJson {
  const t = board.columns.flatMap((c) => c.tasks).find((x) => x.id === id);
  assert.ok(t, `task ${id} is not on the board`);
  return t;
}

Deno.test("GET /api/v1/board names the unfinished parents of each todo task: the first five, and how many", async () => {
  await using a = appSetup();
  const { store, clock } = a.b;
  const parents: string[] = [];
  for (let i = 1; i <= 8; i++) {
    clock.advance(1000); // created one after another: "oldest first" is this order
    parents.push((await store.createTask({ title: `parent ${i}` }, DISPATCHER)).task.id);
  }
  const [p1, p2, p3, p4, p5, p6, p7, p8] = parents as [string, ...string[]];
  clock.advance(1000);
  const many = (await store.createTask({ title: "many", parents }, DISPATCHER)).task.id;
  const one =
    (await store.createTask({ title: "one", assignee: "coder", parents: [p8!] }, DISPATCHER))
      .task.id;
  // Done, and archived once done: satisfied. Cancelled (archived unfinished): still waited for.
  await store.complete(p1, { summary: "done" }, DISPATCHER);
  await store.complete(p2!, {}, DISPATCHER);
  await store.archive(p2!, DISPATCHER);
  await store.cancel(p3!, "dropped", DISPATCHER);

  const board = await a.ok<BoardJson>("GET", "/api/v1/board");
  conforms(shapes.Board, board);
  assert.deepEqual(cardOf(board, many).waits_for, {
    count: 6,
    parents: [p3, p4, p5, p6, p7].map((id, i) => ({
      id: id!,
      title: `parent ${i + 3}`,
      status: i === 0 ? "archived" : "ready",
    })),
  });
  assert.deepEqual(cardOf(board, one).waits_for, {
    count: 1,
    parents: [{ id: p8!, title: "parent 8", status: "ready" }],
  });
  for (const id of [p4!, p8!]) {
    assert.equal("waits_for" in cardOf(board, id), false, "a ready task waits for nothing");
  }
  // The filtered board (another code path) says the same.
  const coder = await a.ok<BoardJson>("GET", "/api/v1/board?assignee=coder");
  conforms(shapes.Board, coder);
  assert.deepEqual(cardOf(coder, one).waits_for, cardOf(board, one).waits_for);

  // The last parent done: the task is ready and waits for nothing.
  await store.complete(p8!, {}, DISPATCHER);
  const after = await a.ok<BoardJson>("GET", "/api/v1/board");
  assert.equal(cardOf(after, one).status, "ready");
  assert.equal("waits_for" in cardOf(after, one), false);
});

Deno.test("GET /api/v1/board reads the parents of 1,500 waiting tasks in one answer", async () => {
  await using a = appSetup();
  const { store } = a.b;
  const parent = (await store.createTask({ title: "the one parent" }, DISPATCHER)).task.id;
  await store.createTasks(
    Array.from({ length: 1500 }, (_, i) => ({ title: `child ${i}`, parents: [parent] })),
    DISPATCHER,
  );
  const board = await a.ok<BoardJson>("GET", "/api/v1/board?limit=5000");
  conforms(shapes.Board, board);
  const todo = board.columns.find((c) => c.status === "todo")!;
  assert.equal(todo.tasks.length, 1500, "more ids than SQLite's old 999-variable limit");
  for (const t of todo.tasks) {
    assert.deepEqual(t.waits_for, {
      count: 1,
      parents: [{ id: parent, title: "the one parent", status: "ready" }],
    });
  }
});

Deno.test("GET /api/v1/board gives review and done tasks the first line of their handoff", async () => {
  await using a = appSetup();
  const { store } = a.b;
  const make = async (title: string, review = false) =>
    (await store.createTask({ title, review_required: review }, DISPATCHER)).task.id;
  const summary = await make("summary only");
  const result = await make("with a result");
  const reviewed = await make("in review", true);
  const silent = await make("no handoff");
  const open = await make("still ready");
  await store.complete(summary, { summary: "\n  Shipped the API.  \nDetails follow." }, HUMAN);
  await store.complete(result, { summary: "long story", result: "https://x.test/pr/7" }, HUMAN);
  await store.complete(reviewed, { summary: "Ready for a look" }, HUMAN);
  await store.complete(silent, {}, HUMAN);

  const board = await a.ok<BoardJson>("GET", "/api/v1/board");
  conforms(shapes.Board, board);
  assert.equal(cardOf(board, summary).handoff, "Shipped the API.");
  assert.equal(cardOf(board, result).handoff, "https://x.test/pr/7", "the result comes first");
  assert.equal(cardOf(board, reviewed).handoff, "Ready for a look");
  assert.equal("handoff" in cardOf(board, silent), false);
  assert.equal("handoff" in cardOf(board, open), false);

  // Reopened and completed again: the latest completion's summary.
  await store.reopen(summary, HUMAN);
  await store.complete(summary, { summary: "Second try" }, HUMAN);
  assert.equal(
    cardOf(await a.ok<BoardJson>("GET", "/api/v1/board"), summary).handoff,
    "Second try",
  );
});

Deno.test("GET /api/v1/board lists finished work newest first, a page of its own per column", async () => {
  await using a = appSetup();
  const { store } = a.b;
  const done: string[] = [];
  for (let i = 0; i < 6; i++) {
    const id = (await store.createTask({ title: `done ${i}`, priority: i % 2 ? 5 : -5 }, HUMAN))
      .task.id;
    a.b.clock.advance(1000);
    await store.complete(id, { summary: `finished ${i}` }, HUMAN);
    done.push(id);
  }
  for (let i = 0; i < 4; i++) await store.createTask({ title: `ready ${i}` }, HUMAN);
  const archived = done.slice(0, 3);
  for (const id of archived) {
    a.b.clock.advance(1000);
    await store.archive(id, HUMAN);
  }
  const column = (b: BoardJson, s: string) => b.columns.find((c) => c.status === s)!;

  const board = await a.ok<BoardJson>("GET", "/api/v1/board?archived=true&limit=2&done_limit=2");
  conforms(shapes.Board, board);
  assert.equal(column(board, "ready").tasks.length, 2, "limit applies to the queue");
  const doneCol = column(board, "done");
  assert.equal(doneCol.count, 3);
  assert.deepEqual(doneCol.tasks.map((t) => t.id), [done[5], done[4]], "newest finished first");
  const arch = column(board, "archived");
  assert.deepEqual(arch.tasks.map((t) => t.id), [archived[2], archived[1]], "archived: limit");

  const more = await a.ok<BoardJson>(
    "GET",
    "/api/v1/board?archived=true&done_limit=3&archived_limit=1",
  );
  assert.deepEqual(column(more, "done").tasks.map((t) => t.id), [done[5], done[4], done[3]]);
  assert.equal(column(more, "archived").tasks.length, 1);
  assert.equal(column(more, "ready").tasks.length, 4, "the queue keeps the default limit");

  // The filtered path (search) orders finished work the same way.
  const searched = await a.ok<BoardJson>("GET", "/api/v1/board?search=done&done_limit=2");
  assert.deepEqual(column(searched, "done").tasks.map((t) => t.id), [done[5], done[4]]);

  const bad = await a.fails(
    "GET",
    "/api/v1/board?done_limit=lots",
    undefined,
    400,
    "invalid_input",
  );
  assert.match(bad, /done_limit/);
});
