import assert from "node:assert/strict";
import { ConflictError, ValidationError } from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { add, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

conformance(
  "a worker's request for review sends the task to its reviewer, who approves it: done, with the implementer's handoff",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "parser", { assignee: "coder", reviewer: "critic" });
    const child = await add(b.store, "docs", { parents: [task.id] });
    const c = await claimId(b.store, task.id, "coder");
    const handed = await b.store.requestReview(task.id, {
      summary: "parser in src/parse.ts",
      metadata: { files: 2 },
      result: "ok",
    }, worker(c));
    assert.equal(handed.status, "ready");
    assert.equal(handed.assignee, "critic");
    assert.equal(handed.result, "ok");
    const shown = await b.store.showTask(task.id);
    assert.equal(shown.runs[0]!.outcome, "completed");
    assert.equal(shown.runs[0]!.summary, "parser in src/parse.ts");
    const ev = shown.events.at(-1)!;
    assert.equal(ev.kind, "review_requested");
    assert.deepEqual(
      [ev.data["round"], ev.data["rounds"], ev.data["reviewer"], ev.data["implementer"]],
      [1, 3, "critic", "coder"],
    );
    assert.deepEqual(shown.review, {
      state: "reviewing",
      round: 1,
      rounds: 3,
      reviewer: "critic",
      implementer: "coder",
      by: "reviewer",
      run: c.run.id,
      at: shown.review!.state === "reviewing" ? shown.review!.at : 0,
    });
    // the reviewer's worker is told what to judge
    const r = await claimId(b.store, task.id, "critic");
    const ctx = await b.store.context(task.id);
    assert.deepEqual(ctx.review, {
      role: "reviewer",
      round: 1,
      rounds: 3,
      implementer: "coder",
      handoff: { summary: "parser in src/parse.ts", metadata: '{"files":2}', result: "ok" },
    });
    const done = await b.store.review(
      task.id,
      "approve",
      "clean and tested",
      worker(r, "critic-1"),
    );
    assert.equal(done.status, "done");
    assert.equal(done.assignee, "coder");
    assert.notEqual(done.completed_at, null);
    // the child is ready and receives the implementer's handoff, not the reviewer's note
    assert.equal((await b.store.getTask(child.id)).status, "ready");
    const childCtx = await b.store.context(child.id);
    assert.equal(childCtx.parents[0]!.summary, "parser in src/parse.ts");
    const after = await b.store.showTask(task.id);
    assert.equal(after.review, undefined);
    assert.equal(after.runs.at(-1)!.summary, "clean and tested");
    assert.equal(after.events.at(-1)!.kind, "review_approved");
  },
);

conformance(
  "requested changes send the same task back to its implementer with the review quoted; the same reviewer reviews each round",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "parser", { assignee: "coder", reviewer: "critic" });
    const c1 = await claimId(b.store, task.id, "coder");
    await b.store.requestReview(task.id, { summary: "first try" }, worker(c1));
    // a person changes the task's reviewer mid-review: this review keeps its reviewer
    await b.store.editTask(task.id, { reviewer: "other" }, HUMAN);
    const r1 = await claimId(b.store, task.id, "critic");
    const back = await b.store.review(
      task.id,
      "reject",
      "the empty input crashes",
      worker(r1, "critic-1"),
      [{ file: "src/parse.ts", line: 3, body: "check for an empty string", quote: ["+x[0]"] }],
    );
    assert.equal(back.status, "ready");
    assert.equal(back.assignee, "coder");
    const shown = await b.store.showTask(task.id);
    const comment = shown.comments.at(-1)!;
    assert.equal(comment.author, "critic-1");
    assert.match(comment.body, /the empty input crashes/);
    assert.match(comment.body, /`src\/parse\.ts` line 3:\n\n> ```diff\n> \+x\[0\]/);
    assert.ok(shown.events.some((e) => e.kind === "changes_requested"));
    assert.equal(shown.review?.state, "changes");
    // the implementer's prompt data: round 2, the reviewer, the reason
    const c2 = await claimId(b.store, task.id, "coder");
    const ctx = await b.store.context(task.id);
    assert.deepEqual(ctx.review, {
      role: "implementer",
      round: 2,
      rounds: 3,
      reviewer: "critic",
      reason: "the empty input crashes",
    });
    // a plain complete of a task with a reviewer is a hand-in: round 2, to the same reviewer
    const again = await b.store.complete(task.id, { summary: "fixed" }, worker(c2));
    assert.equal(again.status, "ready");
    assert.equal(again.assignee, "critic");
    const ev = (await b.store.showTask(task.id)).events.at(-1)!;
    assert.deepEqual([ev.kind, ev.data["round"], ev.data["reviewer"]], [
      "review_requested",
      2,
      "critic",
    ]);
    // the reviewer's complete is an approval
    const r2 = await claimId(b.store, task.id, "critic");
    const done = await b.store.complete(task.id, { summary: "good now" }, worker(r2, "critic-1"));
    assert.equal(done.status, "done");
    assert.equal(done.assignee, "coder");
    assert.equal((await b.store.context(task.id)).review?.role, "implementer");
  },
);

conformance(
  "after the last round the reviewer's request for changes waits for a person, and so does every later hand-in",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "parser", {
      assignee: "coder",
      reviewer: "critic",
      review_rounds: 2,
    });
    for (let round = 1; round <= 2; round++) {
      const c = await claimId(b.store, task.id, "coder");
      await b.store.requestReview(task.id, { summary: `try ${round}` }, worker(c));
      const r = await claimId(b.store, task.id, "critic");
      const t = await b.store.review(task.id, "reject", `not yet ${round}`, worker(r, "critic-1"));
      assert.equal(t.status, round === 2 ? "review" : "ready");
      assert.equal(t.assignee, "coder");
    }
    const last = (await b.store.showTask(task.id)).events.findLast((e) =>
      e.kind === "changes_requested"
    )!;
    assert.equal(last.data["person"], "2 rounds of review spent: a person decides");
    // the person sends it back; the next hand-in goes to the person, not the reviewer
    await b.store.review(task.id, "reject", "one more try", HUMAN);
    const c3 = await claimId(b.store, task.id, "coder");
    const t3 = await b.store.requestReview(task.id, { summary: "try 3" }, worker(c3));
    assert.equal(t3.status, "review");
    assert.equal(t3.assignee, "coder");
    const shown = await b.store.showTask(task.id);
    assert.deepEqual(
      [
        shown.review?.state,
        shown.review?.round,
        shown.review?.state === "reviewing" && shown.review.by,
      ],
      ["reviewing", 3, "person"],
    );
    const done = await b.store.review(task.id, "approve", undefined, HUMAN);
    assert.equal(done.status, "done");
    // the handoff is the implementer's last hand-in
    const child = await add(b.store, "next", { parents: [task.id] });
    assert.equal((await b.store.context(child.id)).parents[0]!.summary, "try 3");
  },
);

conformance(
  "a task that requires a person's approval goes to review after its reviewer approves",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "release", {
      assignee: "coder",
      reviewer: "critic",
      review_required: true,
    });
    const c = await claimId(b.store, task.id, "coder");
    await b.store.requestReview(task.id, { summary: "tagged" }, worker(c));
    const r = await claimId(b.store, task.id, "critic");
    const t = await b.store.review(task.id, "approve", "looks right", worker(r, "critic-1"));
    assert.equal(t.status, "review");
    assert.equal(t.assignee, "coder");
    assert.equal((await b.store.review(task.id, "approve", undefined, HUMAN)).status, "done");
  },
);

conformance(
  "without a reviewer a request for review waits for a person; a plain complete stays a completion",
  async (drv) => {
    await using b = await drv.fresh();
    const asked = await add(b.store, "asked", { assignee: "coder" });
    const c = await claimId(b.store, asked.id, "coder");
    const t = await b.store.requestReview(asked.id, { summary: "please look" }, worker(c));
    assert.equal(t.status, "review");
    assert.equal(t.assignee, "coder");
    const plain = await add(b.store, "plain", { assignee: "coder" });
    const c2 = await claimId(b.store, plain.id, "coder");
    assert.equal((await b.store.complete(plain.id, {}, worker(c2))).status, "done");
  },
);

conformance(
  "a claim gives a task the reviewer its profile's config names, once; the reviewer's own claim changes nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "parser", { assignee: "coder" });
    const reviewers = { coder: { reviewer: "critic", rounds: 4 }, critic: { reviewer: "boss" } };
    const c = await b.store.claim({ taskId: task.id, reviewers, approvals: ["coder"] }, HUMAN);
    assert.ok(c);
    assert.deepEqual(
      [c.task.reviewer, c.task.review_rounds, c.task.review_required],
      ["critic", 4, true],
    );
    await b.store.requestReview(task.id, { summary: "done" }, worker(c));
    const r = await b.store.claim({ taskId: task.id, reviewers, approvals: ["critic"] }, HUMAN);
    assert.ok(r);
    assert.deepEqual([r.task.reviewer, r.task.review_rounds], ["critic", 4]);
    const ev = (await b.store.showTask(task.id)).events.find((e) => e.kind === "review_requested")!;
    assert.equal(ev.data["rounds"], 4);
  },
);

conformance(
  "verdicts and requests are refused where they do not belong, naming why, and change nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "parser", { assignee: "coder", reviewer: "critic" });
    const c = await claimId(b.store, task.id, "coder");
    // the implementer cannot give itself a verdict
    await assert.rejects(
      b.store.review(task.id, "approve", undefined, worker(c)),
      (e) => e instanceof ConflictError && e.code === "not_reviewing",
    );
    // a person does not hand work in
    await assert.rejects(
      b.store.requestReview(task.id, { summary: "x" }, HUMAN),
      (e) => e instanceof ConflictError && e.code === "not_allowed",
    );
    await b.store.requestReview(task.id, { summary: "x" }, worker(c));
    const r = await claimId(b.store, task.id, "critic");
    // the reviewer answers with a verdict, not a hand-in
    await assert.rejects(
      b.store.requestReview(task.id, { summary: "y" }, worker(r)),
      (e) => e instanceof ConflictError && e.code === "reviewing",
    );
    // changes need a reason; an approval takes no line comments
    await assert.rejects(
      b.store.review(task.id, "reject", undefined, worker(r)),
      (e) => e instanceof ValidationError && /says why/.test(e.message),
    );
    await assert.rejects(
      b.store.review(task.id, "approve", "ok", worker(r), [{ file: "a", body: "b" }]),
      (e) => e instanceof ValidationError && /go with a request for changes/.test(e.message),
    );
    // the stale implementer's token is refused
    await assert.rejects(
      b.store.complete(task.id, { summary: "late" }, worker(c)),
      (e) => e instanceof Error && "code" in e && e.code === "stale_lease",
    );
    const t = await b.store.getTask(task.id);
    assert.deepEqual([t.status, t.assignee], ["running", "critic"]);
    // bad settings are refused by name
    await assert.rejects(
      add(b.store, "x", { review_rounds: 0 }),
      (e) => e instanceof ValidationError && /review rounds must be at least 1/.test(e.message),
    );
    await assert.rejects(
      b.store.editTask(task.id, { reviewer: "no spaces please" }, HUMAN),
      (e) => e instanceof ValidationError && /reviewer/.test(e.message),
    );
  },
);

conformance(
  "a review report delivered twice is one report",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "parser", { assignee: "coder", reviewer: "critic" });
    const c = await claimId(b.store, task.id, "coder");
    const first = await b.store.requestReview(task.id, { summary: "x" }, worker(c));
    const again = await b.store.requestReview(task.id, { summary: "x" }, worker(c));
    assert.deepEqual(again, first);
    // and a replayed complete of a task with a reviewer is the same hand-in
    assert.deepEqual(await b.store.complete(task.id, { summary: "x" }, worker(c)), first);
    const r = await claimId(b.store, task.id, "critic");
    const v1 = await b.store.review(task.id, "reject", "no tests", worker(r));
    const v2 = await b.store.review(task.id, "reject", "no tests", worker(r));
    assert.deepEqual(v2, v1);
    const kinds = (await b.store.showTask(task.id)).events.map((e) => e.kind);
    assert.equal(kinds.filter((k) => k === "review_requested").length, 1);
    assert.equal(kinds.filter((k) => k === "changes_requested").length, 1);
    assert.equal((await b.store.showTask(task.id)).comments.length, 1);
  },
);
