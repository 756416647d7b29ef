/**
 * Reading a worktree task's diff with real git in a temp folder: the worktree as it is
 * (committed, uncommitted, untracked, deleted, renamed, binary; ignored files left out)
 * against the merge base, the worktree's own index left alone, the caps, and every way there
 * can be no diff (not a worktree task, no repository, a worktree gc removed, a plain folder).
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type DiffFile,
  findLine,
  parsePatch,
  readWorktreeDiff,
  taskDiff,
} from "../../lib/review/mod.ts";
import { prepareWorkspace, type WorkspaceSettings } from "../../lib/workspace/workspace.ts";
import { HUMAN, setup } from "../_setup.ts";
import { claimId } from "../store/_helpers.ts";
import { git, makeRepo, work } from "./_repo.ts";

/** A board with a worktree task whose worktree was made from a fresh repository. */
async function worktreeTask() {
  const b = setup();
  const repo = makeRepo(b.dir);
  const settings: WorkspaceSettings = { root: join(b.dir, "workspaces"), repository: repo };
  const { task } = await b.store.createTask({ title: "edit app", workspace: "worktree" }, HUMAN);
  const wt = prepareWorkspace("worktree", task.id, settings);
  return { b, repo, settings, task, wt, [Symbol.asyncDispose]: () => b[Symbol.asyncDispose]() };
}

function byPath(files: DiffFile[]): Record<string, DiffFile> {
  return Object.fromEntries(files.map((f) => [f.path, f]));
}

Deno.test("readWorktreeDiff() shows committed, uncommitted, untracked, deleted, renamed and binary changes, not ignored files", async () => {
  await using t = await worktreeTask();
  work(t.wt);
  const d = readWorktreeDiff(t.wt);
  assert.equal(d.branch, `kanban/${t.task.id}`);
  assert.equal(d.base, git(t.repo, "rev-parse", "HEAD").trim());
  assert.equal(d.base_ref, "main");
  assert.equal(d.head, git(t.wt, "rev-parse", "HEAD").trim());
  const f = byPath(d.files);
  assert.deepEqual(Object.keys(f).sort(), [
    "app.ts",
    "gone.txt",
    "image.bin",
    "new.txt",
    "renamed.txt",
  ]);
  assert.equal(f["app.ts"]!.status, "modified");
  // committed (two -> 2, + six) and uncommitted (three -> THREE) together
  assert.deepEqual([f["app.ts"]!.additions, f["app.ts"]!.deletions], [3, 2]);
  assert.match(f["app.ts"]!.patch, /^-two\n-three\n\+2\n\+THREE\n/m);
  assert.match(f["app.ts"]!.patch, /^\+six$/m);
  assert.equal(f["gone.txt"]!.status, "deleted");
  assert.equal(f["gone.txt"]!.deletions, 1);
  assert.equal(f["renamed.txt"]!.status, "renamed");
  assert.equal(f["renamed.txt"]!.old_path, "moved.txt");
  assert.equal(f["new.txt"]!.status, "added");
  assert.equal(f["new.txt"]!.additions, 2);
  assert.equal(f["image.bin"]!.binary, true);
  assert.match(f["image.bin"]!.patch, /^Binary files/m);
  assert.ok(!d.files.some((x) => x.path === "debug.log"), "an ignored file is not part of it");
  assert.deepEqual([d.files_total, d.additions, d.deletions, d.truncated], [5, 5, 3, false]);
  // every patch starts with its own header, so joined they are one unified diff
  for (const x of d.files) assert.match(x.patch, /^diff --git /);
});

Deno.test("readWorktreeDiff() leaves the worktree's index and files as they were", async () => {
  await using t = await worktreeTask();
  work(t.wt);
  const before = git(t.wt, "status", "--porcelain=v1", "--untracked-files=all");
  readWorktreeDiff(t.wt);
  assert.equal(git(t.wt, "status", "--porcelain=v1", "--untracked-files=all"), before);
  assert.match(before, /^\?\? new\.txt$/m, "new.txt is still untracked");
});

Deno.test("readWorktreeDiff() diffs against the merge base: later commits on main are not the task's", async () => {
  await using t = await worktreeTask();
  const base = git(t.repo, "rev-parse", "HEAD").trim();
  writeFileSync(join(t.repo, "main-only.txt"), "landed on main later\n");
  git(t.repo, "add", "main-only.txt");
  git(t.repo, "commit", "--quiet", "-m", "main moves on");
  writeFileSync(join(t.wt, "new.txt"), "task work\n");
  const d = readWorktreeDiff(t.wt);
  assert.equal(d.base, base);
  assert.deepEqual(d.files.map((f) => f.path), ["new.txt"]);
});

Deno.test("readWorktreeDiff() with no changes lists no files", async () => {
  await using t = await worktreeTask();
  const d = readWorktreeDiff(t.wt);
  assert.deepEqual([d.files, d.files_total, d.truncated], [[], 0, false]);
});

Deno.test("readWorktreeDiff() caps a file's patch, the whole diff and the file list, and says so", async () => {
  await using t = await worktreeTask();
  const big = Array.from({ length: 400 }, (_, i) => `a long added line number ${i}`).join("\n");
  writeFileSync(join(t.wt, "a-big.txt"), `${big}\n`);
  writeFileSync(join(t.wt, "b-small.txt"), "small\n");
  writeFileSync(join(t.wt, "c-small.txt"), "small\n");
  writeFileSync(join(t.wt, "d-small.txt"), "small\n");

  const perFile = readWorktreeDiff(t.wt, { maxBytes: 1 << 20, fileMaxBytes: 2000, maxFiles: 100 });
  const a = perFile.files[0]!;
  assert.equal(a.path, "a-big.txt");
  assert.equal(a.truncated, true);
  assert.ok(Buffer.byteLength(a.patch) <= 2000, `${Buffer.byteLength(a.patch)} bytes`);
  assert.ok(a.patch.endsWith("\n"), "a cut patch ends at a line end");
  assert.equal(a.additions, 400, "counts are the whole file's, not the cut patch's");
  assert.equal(perFile.files[1]!.truncated, false);
  assert.equal(perFile.truncated, true);

  const total = readWorktreeDiff(t.wt, { maxBytes: 2600, fileMaxBytes: 2500, maxFiles: 100 });
  const kept = total.files.reduce((n, f) => n + Buffer.byteLength(f.patch), 0);
  assert.ok(kept <= 2600, `kept ${kept} bytes`);
  assert.ok(total.files.some((f) => f.truncated && f.patch === ""), "later files are left out");
  assert.equal(total.files.length, 4, "a file whose patch is left out is still listed");

  const few = readWorktreeDiff(t.wt, { maxBytes: 1 << 20, fileMaxBytes: 1 << 20, maxFiles: 2 });
  assert.deepEqual([few.files.length, few.files_total, few.truncated], [2, 4, true]);
});

Deno.test("taskDiff() of a task that is not a worktree task says there is no diff", async () => {
  await using b = setup();
  const { task } = await b.store.createTask({ title: "notes" }, HUMAN);
  const d = await taskDiff(b.store, task.id, { root: join(b.dir, "ws") });
  assert.equal(d.available, false);
  assert.match(d.reason!, /works in a scratch folder, not a git worktree/);
  assert.deepEqual(d.files, []);
});

Deno.test("taskDiff() of a worktree task without a repository or a worktree names the cause", async () => {
  await using b = setup();
  const { task } = await b.store.createTask({ title: "x", workspace: "worktree" }, HUMAN);
  const none = await taskDiff(b.store, task.id, { root: join(b.dir, "ws") });
  assert.equal(none.available, false);
  assert.match(none.reason!, /does not exist \(config\.toml sets no \[dispatch\] repository/);
  const repo = makeRepo(b.dir);
  const waiting = await taskDiff(b.store, task.id, { root: join(b.dir, "ws"), repository: repo });
  assert.match(waiting.reason!, /no worker has started on the task yet/);
  assert.equal(waiting.workspace, join(b.dir, "ws", "worktrees", task.id));
});

Deno.test("taskDiff() of an archived task whose worktree gc removed says so (not an error)", async () => {
  await using t = await worktreeTask();
  work(t.wt);
  assert.equal((await taskDiff(t.b.store, t.task.id, t.settings)).available, true);
  await t.b.store.archive(t.task.id, HUMAN);
  git(t.repo, "worktree", "remove", "--force", t.wt);
  const d = await taskDiff(t.b.store, t.task.id, t.settings);
  assert.equal(d.available, false);
  assert.match(d.reason!, /does not exist \(kanban gc removes the worktrees of archived tasks\)/);
});

Deno.test("taskDiff() reads the worktree the task's last worker ran in", async () => {
  await using t = await worktreeTask();
  work(t.wt);
  const claim = await claimId(t.b.store, t.task.id);
  await t.b.store.recordSpawn(claim.run.id, {
    pid: 1,
    pid_start_time: null,
    host: "h",
    log_path: null,
    workspace: t.wt,
  }, HUMAN);
  // Settings that point elsewhere: the run's recorded workspace wins.
  const d = await taskDiff(t.b.store, t.task.id, { root: join(t.b.dir, "elsewhere") });
  assert.equal(d.available, true, d.reason ?? "");
  assert.equal(d.workspace, t.wt);
  assert.equal(d.files_total, 5);
});

Deno.test("taskDiff() of a plain folder where the worktree should be (inside another repository) refuses it", async () => {
  await using b = setup();
  const repo = makeRepo(b.dir);
  const { task } = await b.store.createTask({ title: "x", workspace: "worktree" }, HUMAN);
  // Workspaces inside the repository: git run in the folder would find the repository above.
  const settings = { root: join(repo, "ws"), repository: repo };
  mkdirSync(join(repo, "ws", "worktrees", task.id), { recursive: true });
  const d = await taskDiff(b.store, task.id, settings);
  assert.equal(d.available, false);
  assert.match(d.reason!, /is not a git worktree/);
});

Deno.test("parsePatch() numbers the old and new lines of each hunk", () => {
  const lines = parsePatch(
    "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -3,3 +3,4 @@ fn\n keep\n-old\n+new\n+more\n tail\n",
  );
  const body = lines.filter((l) => l.hunk > 0 && l.kind !== "hunk");
  assert.deepEqual(
    body.map((l) => [l.kind, l.old, l.new, l.text]),
    [
      ["ctx", 3, 3, "keep"],
      ["del", 4, null, "old"],
      ["add", null, 4, "new"],
      ["add", null, 5, "more"],
      ["ctx", 5, 6, "tail"],
    ],
  );
  assert.equal(lines[findLine(lines, 5, "new")]!.text, "more");
  assert.equal(lines[findLine(lines, 4, "old")]!.text, "old");
  assert.equal(findLine(lines, 40, "new"), -1);
});
