/**
 * Review comments from the diff to the next worker: quoteComments() checks each comment
 * against the task's real diff and quotes the lines it is about; store.review() puts the
 * reason and every comment, quoted, into one comment; and the prompt the dispatcher pushes to
 * the next attempt carries them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { workerPrompt } from "../../lib/dispatch/prompt.ts";
import { quoteComments, taskDiff } from "../../lib/review/mod.ts";
import { ValidationError } from "../../lib/store/mod.ts";
import { prepareWorkspace } from "../../lib/workspace/workspace.ts";
import { HUMAN, setup } from "../_setup.ts";
import { makeRepo, work } from "./_repo.ts";

/** A worktree task in review, its worktree holding a worker's changes. */
async function inReview() {
  const b = setup();
  const repo = makeRepo(b.dir);
  const settings = { root: join(b.dir, "workspaces"), repository: repo };
  const { task } = await b.store.createTask(
    { title: "edit app", workspace: "worktree", review_required: true },
    HUMAN,
  );
  const wt = prepareWorkspace("worktree", task.id, settings);
  work(wt);
  await b.store.complete(task.id, { summary: "edited app.ts" }, HUMAN);
  const diff = await taskDiff(b.store, task.id, settings);
  assert.equal(diff.available, true, diff.reason ?? "");
  return { b, task, diff, [Symbol.asyncDispose]: () => b[Symbol.asyncDispose]() };
}

Deno.test("quoteComments() quotes the commented line with up to two lines before it in its hunk", async () => {
  await using t = await inReview();
  const [added, deleted, file] = quoteComments(t.diff, [
    { file: "app.ts", line: 3, body: "why upper case?" },
    { file: "app.ts", line: 2, side: "old", body: "keep the word" },
    { file: "new.txt", body: "what is this file for?" },
  ]);
  assert.deepEqual(added!.quote, ["-three", "+2", "+THREE"]);
  assert.equal(added!.side, "new");
  assert.deepEqual(deleted!.quote, [" one", "-two"]);
  assert.deepEqual(file, { file: "new.txt", body: "what is this file for?" });
});

Deno.test("quoteComments() quotes a line the diff does not show from the worktree", async () => {
  await using t = await inReview();
  const [c] = quoteComments(t.diff, [{ file: "renamed.txt", line: 20, body: "rename this too" }]);
  assert.deepEqual(c!.quote, [" line 20"]);
});

Deno.test("quoteComments() refuses a file the diff did not change, a line past the end, and a line of a binary file", async () => {
  await using t = await inReview();
  const refused = (c: Parameters<typeof quoteComments>[1][number], re: RegExp) =>
    assert.throws(
      () => quoteComments(t.diff, [c]),
      (e) => e instanceof ValidationError && re.test(e.message),
    );
  refused(
    { file: "README.md", body: "x" },
    /Comment on "README\.md": not a file this task changed \("app\.ts"/,
  );
  refused({ file: "renamed.txt", line: 99, body: "x" }, /line 99: the file has 40 lines/);
  refused({ file: "image.bin", line: 1, body: "x" }, /binary; comment on the file, without a line/);
  refused({ file: "app.ts", line: 50, side: "old", body: "x" }, /the diff does not show that line/);
});

Deno.test("quoteComments() without a diff passes the comments on as they are", () => {
  const none = {
    task: "t_1",
    available: false,
    reason: "no worktree",
    workspace: null,
    branch: null,
    head: null,
    base: null,
    base_ref: null,
    files: [],
    files_total: 0,
    additions: 0,
    deletions: 0,
    truncated: false,
  };
  assert.deepEqual(quoteComments(none, [{ file: "report.md", line: 3, body: "cite it" }]), [
    { file: "report.md", line: 3, body: "cite it" },
  ]);
});

Deno.test("a rejection with comments leaves one comment with the reason and each comment's file, line and quoted diff lines", async () => {
  await using t = await inReview();
  const comments = quoteComments(t.diff, [
    { file: "app.ts", line: 3, body: "Keep `three` lower case." },
    { file: "new.txt", body: "Delete this file." },
  ]);
  const task = await t.b.store.review(t.task.id, "reject", "Two things to fix", HUMAN, comments);
  assert.equal(task.status, "ready");
  const { comments: all, events } = await t.b.store.showTask(t.task.id);
  assert.equal(all.length, 1);
  assert.equal(
    all[0]!.body,
    [
      "Review rejected: Two things to fix",
      "",
      "Comments on the changes (2):",
      "",
      "`app.ts` line 3:",
      "",
      "> ```diff",
      "> -three",
      "> +2",
      "> +THREE",
      "> ```",
      "",
      "Keep `three` lower case.",
      "",
      "`new.txt`:",
      "",
      "Delete this file.",
    ].join("\n"),
  );
  const rejected = events.findLast((e) => e.kind === "rejected");
  assert.deepEqual([rejected?.data["reason"], rejected?.data["comments"]], [
    "Two things to fix",
    2,
  ]);
});

Deno.test("the next attempt's prompt carries the review comments with the quoted lines", async () => {
  await using t = await inReview();
  const comments = quoteComments(t.diff, [
    { file: "app.ts", line: 3, body: "Keep three lower case." },
  ]);
  await t.b.store.review(t.task.id, "reject", undefined, HUMAN, comments);
  const prompt = await workerPrompt(t.b.store, t.task.id, { mcp: false });
  const at = prompt.indexOf("## Recent comments");
  assert.ok(at > 0, prompt);
  const section = prompt.slice(at);
  assert.match(section, /^> Review rejected\. Comments on the changes \(1\):$/m);
  assert.match(section, /^> `app\.ts` line 3:$/m);
  assert.match(section, /^> > -three\n> > \+2\n> > \+THREE$/m);
  assert.match(section, /^> Keep three lower case\.$/m);
});

Deno.test("review() refuses comments with an approval, empty bodies, too many, and a review past a comment's size", async () => {
  await using t = await inReview();
  const refused = async (p: Promise<unknown>, re: RegExp) =>
    await assert.rejects(p, (e) => e instanceof ValidationError && re.test(e.message));
  await refused(
    t.b.store.review(t.task.id, "approve", undefined, HUMAN, [{ file: "a", body: "x" }]),
    /go with a rejection/,
  );
  await refused(
    t.b.store.review(t.task.id, "reject", undefined, HUMAN, [{ file: "a", body: "  " }]),
    /body is empty/,
  );
  await refused(
    t.b.store.review(t.task.id, "reject", undefined, HUMAN, [{
      file: "a",
      side: "old",
      body: "x",
    }]),
    /side needs a line/,
  );
  const many = Array.from({ length: 51 }, () => ({ file: "a", body: "x" }));
  await refused(t.b.store.review(t.task.id, "reject", undefined, HUMAN, many), /more than 50/);
  const long = Array.from({ length: 20 }, () => ({ file: "a", body: "x".repeat(4000) }));
  await refused(
    t.b.store.review(t.task.id, "reject", undefined, HUMAN, long),
    /a task comment holds at most 65536/,
  );
  // Nothing changed: the task still waits in review, with no comment.
  const d = await t.b.store.showTask(t.task.id);
  assert.deepEqual([d.task.status, d.comments.length], ["review", 0]);
});
