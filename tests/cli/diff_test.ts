/**
 * `kanban diff` and `kanban review --reject --comment` against a real worktree: the branch,
 * base and unified diff, `--stat`, `--name-only`, `--json`; escape sequences in the diff made
 * harmless; comments quoted from the diff into the rejection's comment; bad input refused.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as shapes from "../../lib/http/shapes.ts";
import { prepareWorkspace } from "../../lib/workspace/workspace.ts";
import { conforms } from "../http/_app.ts";
import { makeRepo, work, worktreeConfig } from "../review/_repo.ts";
import { type CliHome, cliHome, create } from "./_cli.ts";

/** A default board whose config makes worktrees, and a worktree task in review. */
async function setupReview(): Promise<{ h: CliHome; id: string; wt: string } & Disposable> {
  const h = await cliHome();
  const repo = makeRepo(h.home);
  writeFileSync(join(h.home, "config.toml"), worktreeConfig(repo));
  const id = await create(h, "edit app", "--workspace", "worktree", "--review");
  const wt = prepareWorkspace("worktree", id, {
    root: join(h.home, "workspaces", "default"),
    repository: repo,
  });
  work(wt);
  const done = await h.run(["complete", id, "--summary", "edited"]);
  assert.equal(done.code, 0, done.stderr);
  return { h, id, wt, [Symbol.dispose]: () => h[Symbol.dispose]() };
}

Deno.test("kanban diff prints the branch, the base and the unified diff", async () => {
  using t = await setupReview();
  const r = await t.h.run(["diff", t.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^branch: kanban/${t.id}$`, "m"));
  assert.match(r.stdout, /^base: {3}[0-9a-f]{12} \(merge base with main\)$/m);
  assert.match(r.stdout, /^files: {2}5 files changed, \+5 -3$/m);
  assert.match(r.stdout, /^diff --git a\/app\.ts b\/app\.ts$/m);
  assert.match(r.stdout, /^\+THREE$/m);
  assert.match(r.stdout, /^rename from moved\.txt$/m);
  assert.equal(r.stderr, "");
});

Deno.test("kanban diff --stat, --name-only and --json", async () => {
  using t = await setupReview();
  const stat = await t.h.run(["diff", t.id, "--stat"]);
  assert.equal(stat.code, 0, stat.stderr);
  assert.match(stat.stdout, /^modified +\+3 -2 +app\.ts$/m);
  assert.match(stat.stdout, /^renamed +\+0 -0 +moved\.txt -> renamed\.txt$/m);
  assert.match(stat.stdout, /^added +binary +image\.bin$/m);
  assert.doesNotMatch(stat.stdout, /diff --git/);

  const names = await t.h.run(["diff", t.id, "--name-only"]);
  assert.equal(names.stdout, "app.ts\ngone.txt\nimage.bin\nnew.txt\nrenamed.txt\n");

  const json = await t.h.run(["diff", t.id.slice(0, 5), "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const d = json.json<{ task: string; files: { path: string }[] }>();
  conforms(shapes.TaskDiff, d);
  assert.equal(d.task, t.id);
  assert.equal(d.files.length, 5);
});

Deno.test("kanban diff makes escape sequences in the diff visible instead of acting on them", async () => {
  using t = await setupReview();
  writeFileSync(join(t.wt, "evil.txt"), "\x1b]52;c;cHduZWQ=\x07\x1b[2Jgotcha\n");
  const r = await t.h.run(["diff", t.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes("\x1b"), "no ESC reaches the terminal");
  assert.match(r.stdout, /^\+␛\]52;c;cHduZWQ=␇␛\[2Jgotcha$/m);
  // --json carries the text exactly (JSON escapes it)
  const json = await t.h.run(["diff", t.id, "--json"]);
  assert.ok(json.stdout.includes("\\u001b[2Jgotcha"));
});

Deno.test("kanban diff of a task without a diff fails with the reason; --stat with --name-only is a usage error", async () => {
  using h = await cliHome();
  const id = await create(h, "notes");
  const r = await h.run(["diff", id]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /No diff for task "t_[0-9a-f]+": task "t_[0-9a-f]+" works in a scratch folder/,
  );
  const j = await h.run(["diff", id, "--json"]);
  assert.equal(j.json<{ error: { code: string } }>().error.code, "no_diff");
  const both = await h.run(["diff", id, "--stat", "--name-only"]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--stat or --name-only, not both/);
});

Deno.test("kanban review --reject --comment quotes line and file comments into the rejection", async () => {
  using t = await setupReview();
  const r = await t.h.run([
    "review",
    t.id,
    "--reject",
    "--reason",
    "Close",
    "--comment",
    "app.ts:3: keep it lower case",
    "--comment",
    "new.txt: drop this file",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const show = await t.h.run(["show", t.id, "--json"]);
  const body = show.json<{ comments: { body: string }[] }>().comments[0]!.body;
  assert.match(body, /^Review rejected: Close\n\nComments on the changes \(2\):/);
  assert.match(
    body,
    /`app\.ts` line 3:\n\n> ```diff\n> -three\n> \+2\n> \+THREE\n> ```\n\nkeep it lower case/,
  );
  assert.match(body, /`new\.txt`:\n\ndrop this file$/);
});

Deno.test("kanban review --comment refuses a comment without --reject, a bad form, and a file the diff did not change", async () => {
  using t = await setupReview();
  const approve = await t.h.run(["review", t.id, "--approve", "--comment", "app.ts: x"]);
  assert.equal(approve.code, 2);
  assert.match(approve.stderr, /--comment goes with --reject/);
  const form = await t.h.run(["review", t.id, "--reject", "--comment", "just text"]);
  assert.equal(form.code, 2);
  assert.match(form.stderr, /neither "path:line: text" \(a line\) nor "path: text" \(a file\)/);
  const other = await t.h.run(["review", t.id, "--reject", "--comment", "README.md:1: x"]);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /Comment on "README\.md": not a file this task changed/);
  const still = await t.h.run(["show", t.id, "--json"]);
  assert.equal(still.json<{ task: { status: string } }>().task.status, "review");
});
