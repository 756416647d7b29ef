import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { boardHealth } from "../../lib/dispatch/health.ts";
import * as shapes from "../../lib/http/shapes.ts";
import { openStore } from "../../lib/store/mod.ts";
import { DISPATCHER } from "../_setup.ts";
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
  const before = other.dataVersion();
  const { event } = await a.ok<{ event: { kind: string; actor: string; id: number } }>(
    "POST",
    "/api/v1/dispatch/nudge",
    undefined,
    202,
  );
  conforms(shapes.TaskEvent, event);
  assert.equal(event.kind, "dispatch_requested");
  assert.equal(event.actor, "alice");
  assert.notEqual(other.dataVersion(), before, "the dispatcher's data_version moved");
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
