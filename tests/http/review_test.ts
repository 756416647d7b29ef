/**
 * The review API against real git: a worktree task's diff (`GET /tasks/{id}/diff`), the
 * artifacts of other tasks (`/artifacts`, `/artifacts/content`), and a rejection with line and
 * file comments whose quoted diff lines reach the task's comments. Bad input is a 400 that
 * names it; no-diff cases answer with the reason, never a 500.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { z } from "zod";
import { boardKey } from "../../lib/config/paths.ts";
import * as shapes from "../../lib/http/shapes.ts";
import { prepareWorkspace } from "../../lib/workspace/workspace.ts";
import { HUMAN, tempDir } from "../_setup.ts";
import { makeRepo, work, worktreeConfig } from "../review/_repo.ts";
import { appSetup, conforms } from "./_app.ts";

type TaskDiff = z.output<typeof shapes.TaskDiff>;
type Artifacts = z.output<typeof shapes.TaskArtifacts>;
type Content = z.output<typeof shapes.ArtifactContent>;
type Detail = z.output<typeof shapes.TaskDetail>;

/**
 * A served board whose config.toml makes worktrees from a fresh repository, and a worktree task
 * in review whose worktree holds a worker's changes.
 */
async function reviewSetup(config?: string) {
  const home = tempDir("kanban-review-home-");
  const repo = makeRepo(home.dir);
  const ws = join(home.dir, "ws");
  writeFileSync(
    join(home.dir, "config.toml"),
    config ?? `${worktreeConfig(repo)}workspaces = ${JSON.stringify(ws)}\n`,
  );
  const a = appSetup({ env: { KANBAN_HOME: home.dir } });
  const root = join(ws, boardKey({ name: null, path: a.b.path }));
  const id = (await a.b.store.createTask(
    { title: "edit app", workspace: "worktree", review_required: true },
    HUMAN,
  )).task.id;
  const wt = prepareWorkspace("worktree", id, { root, repository: repo });
  work(wt);
  await a.b.store.complete(id, { summary: "edited" }, HUMAN);
  return {
    a,
    id,
    wt,
    root,
    [Symbol.asyncDispose]: async () => {
      await a[Symbol.asyncDispose]();
      home[Symbol.dispose]();
    },
  };
}

Deno.test("GET /api/v1/tasks/{id}/diff answers the worktree's branch, base, files and patches", async () => {
  await using t = await reviewSetup();
  const d = await t.a.ok<TaskDiff>("GET", `/api/v1/tasks/${t.id.slice(0, 6)}/diff`);
  conforms(shapes.TaskDiff, d);
  assert.deepEqual([d.available, d.task, d.branch, d.workspace], [
    true,
    t.id,
    `kanban/${t.id}`,
    t.wt,
  ]);
  assert.deepEqual(
    d.files.map((f) => [f.path, f.status]),
    [
      ["app.ts", "modified"],
      ["gone.txt", "deleted"],
      ["image.bin", "added"],
      ["new.txt", "added"],
      ["renamed.txt", "renamed"],
    ],
  );
  assert.match(d.files[0]!.patch, /^\+THREE$/m);
});

Deno.test("GET /api/v1/tasks/{id}/diff says why there is no diff: not a worktree task, no worktree, a broken config", async () => {
  await using t = await reviewSetup();
  const scratch = (await t.a.b.store.createTask({ title: "notes" }, HUMAN)).task.id;
  const d = await t.a.ok<TaskDiff>("GET", `/api/v1/tasks/${scratch}/diff`);
  conforms(shapes.TaskDiff, d);
  assert.equal(d.available, false);
  assert.match(d.reason!, /not a git worktree: no diff/);

  const fresh =
    (await t.a.b.store.createTask({ title: "y", workspace: "worktree" }, HUMAN)).task.id;
  const missing = await t.a.ok<TaskDiff>("GET", `/api/v1/tasks/${fresh}/diff`);
  assert.match(missing.reason!, /does not exist \(no worker has started on the task yet\)/);

  await t.a.fails("GET", "/api/v1/tasks/t_00000000/diff", undefined, 404, "not_found");
});

Deno.test("GET /api/v1/tasks/{id}/diff with a config.toml it cannot read answers the reason, not a 500", async () => {
  await using t = await reviewSetup("[dispatch\nrepository = 1");
  const d = await t.a.ok<TaskDiff>("GET", `/api/v1/tasks/${t.id}/diff`);
  assert.equal(d.available, false);
  assert.match(d.reason!, /config\.toml: not valid TOML/);
});

Deno.test("POST /api/v1/tasks/{id}/review rejects with line and file comments quoted into one comment", async () => {
  await using t = await reviewSetup();
  const task = await t.a.ok<z.output<typeof shapes.Task>>("POST", `/api/v1/tasks/${t.id}/review`, {
    decision: "reject",
    reason: "Almost",
    comments: [
      { file: "app.ts", line: 3, body: "lower case, please" },
      { file: "app.ts", line: 2, side: "old", body: "why drop the word?" },
      { file: "new.txt", body: "not needed" },
    ],
  });
  assert.equal(task.status, "ready");
  const detail = await t.a.ok<Detail>("GET", `/api/v1/tasks/${t.id}`);
  assert.equal(detail.comments.length, 1);
  const body = detail.comments[0]!.body;
  assert.match(body, /^Review rejected: Almost\n\nComments on the changes \(3\):/);
  assert.match(
    body,
    /`app\.ts` line 3:\n\n> ```diff\n> -three\n> \+2\n> \+THREE\n> ```\n\nlower case, please/,
  );
  assert.match(
    body,
    /`app\.ts` old line 2:\n\n> ```diff\n> {2}one\n> -two\n> ```\n\nwhy drop the word\?/,
  );
  assert.match(body, /`new\.txt`:\n\nnot needed$/);
});

Deno.test("POST /api/v1/tasks/{id}/review refuses bad comments with a 400 naming them, and changes nothing", async () => {
  await using t = await reviewSetup();
  const path = `/api/v1/tasks/${t.id}/review`;
  const bad = async (comments: unknown, re: RegExp, decision = "reject") =>
    assert.match(
      await t.a.fails("POST", path, { decision, comments }, 400, "invalid_input"),
      re,
    );
  await bad(
    [{ file: "README.md", body: "x" }],
    /Comment on "README\.md": not a file this task changed/,
  );
  await bad([{ file: "app.ts", line: 3, body: "" }], /comments\.0\.body: body is empty/);
  await bad([{ file: "app.ts", body: "x", severity: "high" }], /severity/);
  await bad([{ file: "app.ts", line: 0, body: "x" }], /line is below 1/);
  await bad([{ file: "app.ts", line: 999, body: "x" }], /the file has 6 lines/);
  await bad([{ file: "app.ts", side: "old", body: "x" }], /side needs a line/);
  await bad(Array.from({ length: 51 }, () => ({ file: "app.ts", body: "x" })), /more than 50/);
  await bad([{ file: "app.ts", body: "ok" }], /go with a rejection/, "approve");
  const d = await t.a.ok<Detail>("GET", `/api/v1/tasks/${t.id}`);
  assert.deepEqual([d.task.status, d.comments.length], ["review", 0]);
});

Deno.test("the artifacts routes list a task's artifacts and read a text one from inside its workspace only", async () => {
  await using a = appSetup({ env: { KANBAN_HOME: "/nonexistent-kanban-home" } });
  const id = (await a.b.store.createTask({ title: "report", workspace: `dir:${a.b.dir}` }, HUMAN))
    .task.id;
  mkdirSync(join(a.b.dir, "out"));
  writeFileSync(join(a.b.dir, "out", "report.md"), "# Findings\n");
  await a.b.store.complete(id, {
    summary: "wrote it",
    metadata: { artifacts: ["out/report.md", { path: "/etc/hostname", title: "host" }] },
  }, HUMAN);

  const list = await a.ok<Artifacts>("GET", `/api/v1/tasks/${id}/artifacts`);
  conforms(shapes.TaskArtifacts, list);
  assert.deepEqual(
    list.artifacts.map((x) => [x.path, x.exists, x.inside_workspace, x.run]),
    [
      ["out/report.md", true, true, null],
      ["/etc/hostname", true, false, null],
    ],
  );
  const q = (p: string) => `/api/v1/tasks/${id}/artifacts/content?path=${encodeURIComponent(p)}`;
  const c = await a.ok<Content>("GET", q("out/report.md"));
  conforms(shapes.ArtifactContent, c);
  assert.equal(c.text, "# Findings\n");
  assert.match(
    await a.fails("GET", q("/etc/hostname"), undefined, 403, "outside_workspace"),
    /is outside its workspace/,
  );
  assert.match(
    await a.fails("GET", q("notes.txt"), undefined, 404, "not_found"),
    /lists no artifact/,
  );
  assert.match(
    await a.fails("GET", `/api/v1/tasks/${id}/artifacts/content`, undefined, 400, "invalid_input"),
    /path/,
  );
});
