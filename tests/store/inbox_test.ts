import assert from "node:assert/strict";
import {
  IllegalTransitionError,
  type InboxItem,
  NotFoundError,
  StaleLeaseError,
  ValidationError,
} from "../../lib/store/mod.ts";
import { DISPATCHER, HUMAN } from "../_setup.ts";
import { add, claimId, eventKinds, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const MINUTE = 60_000;
const T0 = Date.parse("2026-01-01T00:00:00Z");
const at = (minutes: number) => new Date(T0 + minutes * MINUTE).toISOString();

function brief(i: InboxItem) {
  return [i.title, i.kind, i.waiting_since];
}

conformance(
  "inbox() lists blocked, review and triage tasks by how long they have waited in that status",
  async (drv) => {
    await using b = await drv.fresh();
    const asked = await add(b.store, "asked"); // created first, blocked last
    const checked = await add(b.store, "checked", { review_required: true });
    await add(b.store, "queued");
    b.clock.advance(MINUTE);
    const idea = await add(b.store, "idea", { triage: true, assignee: "coder" });
    b.clock.advance(MINUTE);
    const c = await claimId(b.store, checked.id);
    await b.store.complete(checked.id, { summary: "Did it.", result: "PR 7" }, worker(c));
    b.clock.advance(MINUTE);
    await b.store.block(asked.id, "Which database?", HUMAN);
    b.clock.advance(MINUTE);
    // Edits and comments after a task entered its status do not make it younger
    await b.store.editTask(idea.id, { title: "idea, edited" }, HUMAN);
    await b.store.comment(asked.id, "first", HUMAN);
    b.clock.advance(MINUTE);
    await b.store.comment(asked.id, "second", { name: "bob" });

    const box = await b.store.inbox();
    assert.deepEqual(box.items.map(brief), [
      ["idea, edited", "triage", at(1)],
      ["checked", "review", at(2)],
      ["asked", "question", at(3)],
    ]);
    assert.equal(box.total, 3);
    assert.deepEqual(box.by_kind, { question: 1, review: 1, triage: 1 });
    const [triage, review, question] = box.items;
    assert.equal(triage!.assignee, "coder");
    assert.equal(triage!.question, null);
    assert.equal(triage!.last_comment, null);
    assert.deepEqual([review!.summary, review!.result, review!.status], [
      "Did it.",
      "PR 7",
      "review",
    ]);
    assert.equal(question!.question, "Which database?");
    assert.equal(question!.status, "blocked");
    assert.equal(question!.summary, null);
    assert.deepEqual(
      [question!.last_comment?.author, question!.last_comment?.body],
      ["bob", "second"],
    );
    assert.equal(question!.last_comment?.created_at, at(5));
  },
);

conformance(
  "inbox() leaves out archived tasks, and a task unarchived into blocked waits from then",
  async (drv) => {
    await using b = await drv.fresh();
    const old = await add(b.store, "old question");
    await b.store.block(old.id, "why?", HUMAN);
    const shelved = await add(b.store, "shelved idea", { triage: true });
    await b.store.archive(shelved.id, HUMAN);
    const cancelled = await add(b.store, "cancelled question");
    await b.store.block(cancelled.id, "never mind", HUMAN);
    await b.store.cancel(cancelled.id, "dropped", HUMAN);
    assert.deepEqual((await b.store.inbox()).items.map((i) => i.title), ["old question"]);
    b.clock.advance(10 * MINUTE);
    await b.store.unarchive(cancelled.id, HUMAN);
    const box = await b.store.inbox();
    assert.deepEqual(box.items.map(brief), [
      ["old question", "question", at(0)],
      ["cancelled question", "question", at(10)],
    ]);
    assert.equal(box.total, 2);
  },
);

conformance("inbox() of one tenant, and a limit that keeps the counts of all", async (drv) => {
  await using b = await drv.fresh();
  for (const [title, tenant] of [["a1", "acme"], ["g1", "globex"], ["a2", "acme"], ["n", null]]) {
    await add(b.store, title!, { triage: true, ...(tenant ? { tenant } : {}) });
    b.clock.advance(MINUTE);
  }
  const acme = await b.store.inbox({ tenant: "acme" });
  assert.deepEqual(acme.items.map((i) => [i.title, i.tenant]), [["a1", "acme"], ["a2", "acme"]]);
  assert.equal(acme.total, 2);
  const first = await b.store.inbox({ limit: 2 });
  assert.deepEqual(first.items.map((i) => i.title), ["a1", "g1"]);
  assert.deepEqual([first.total, first.by_kind.triage], [4, 4]);
  assert.deepEqual((await b.store.inbox({ tenant: "nobody" })).items, []);
  await assert.rejects(b.store.inbox({ limit: 0 }), ValidationError);
  await assert.rejects(b.store.inbox({ limit: 5001 }), /not a whole number from 1 to 5000/);
});

conformance("inbox() of a board where nothing waits on a person is empty", async (drv) => {
  await using b = await drv.fresh();
  await add(b.store, "ready");
  const done = await add(b.store, "done");
  await b.store.complete(done.id, {}, HUMAN);
  assert.deepEqual(await b.store.inbox(), {
    total: 0,
    by_kind: { question: 0, review: 0, triage: 0 },
    items: [],
  });
});

conformance(
  "reply() adds the person's comment and unblocks the task, resetting its failures",
  async (drv) => {
    await using b = await drv.fresh({ failureLimit: 1 });
    const parent = await add(b.store, "parent");
    const t = await add(b.store, "asks");
    const c = await claimId(b.store, t.id);
    await b.store.endRun(c.run.id, { outcome: "crashed", error: "exit 1" }, DISPATCHER);
    await b.store.link(parent.id, t.id, HUMAN);
    const [waiting] = (await b.store.inbox()).items;
    assert.deepEqual(
      [waiting?.kind, waiting?.question],
      ["question", "1 consecutive failed attempts; last: crashed: exit 1"],
    );
    b.clock.advance(MINUTE);
    const r = await b.store.reply(t.id.slice(0, 6), "Use 8080.", { name: "carol" });
    assert.equal(r.task.status, "todo"); // back to where its parents put it, as unblock does
    assert.equal(r.task.blocked_reason, null);
    assert.equal(r.task.consecutive_failures, 0);
    assert.deepEqual([r.comment.author, r.comment.body, r.comment.task_id], [
      "carol",
      "Use 8080.",
      t.id,
    ]);
    const kinds = await eventKinds(b.store, t.id);
    assert.deepEqual(kinds.slice(-2), ["commented", "unblocked"]);
    const shown = await b.store.showTask(t.id);
    assert.deepEqual(shown.comments.map((c) => c.body), ["Use 8080."]);
    assert.deepEqual((await b.store.inbox()).items, []);
  },
);

conformance("reply() refuses a task that is not blocked, and adds no comment", async (drv) => {
  await using b = await drv.fresh();
  const t = await add(b.store, "ready one");
  const idea = await add(b.store, "idea", { triage: true });
  await assert.rejects(
    b.store.reply(t.id, "an answer", HUMAN),
    (err: unknown) =>
      err instanceof IllegalTransitionError &&
      err.message.startsWith(`Cannot reply to task "${t.id}": it is ready, and ready -> ready`) &&
      /only a blocked task takes one/.test(err.message),
  );
  await assert.rejects(b.store.reply(idea.id, "an answer", HUMAN), IllegalTransitionError);
  assert.deepEqual((await b.store.showTask(t.id)).comments, []);
  assert.deepEqual((await b.store.showTask(idea.id)).comments, []);
  assert.equal((await b.store.getTask(idea.id)).status, "triage");
});

conformance(
  "reply() refuses an empty or oversized body and an unknown task, and changes nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "asks");
    await b.store.block(t.id, "?", HUMAN);
    await assert.rejects(
      b.store.reply(t.id, "  \n ", HUMAN),
      (err: unknown) =>
        err instanceof ValidationError &&
        err.message === `Cannot reply to task "${t.id}": the reply is empty`,
    );
    await assert.rejects(b.store.reply(t.id, "x".repeat(64 * 1024 + 1), HUMAN), ValidationError);
    await assert.rejects(b.store.reply("t_ffffffff", "hello", HUMAN), NotFoundError);
    const shown = await b.store.showTask(t.id);
    assert.equal(shown.task.status, "blocked");
    assert.deepEqual(shown.comments, []);
  },
);

conformance(
  "reply() by a worker's token is fenced like its comment: the blocked task has no open run",
  async (drv) => {
    await using b = await drv.fresh();
    const t = await add(b.store, "asks");
    const c = await claimId(b.store, t.id);
    await b.store.block(t.id, "Which port?", worker(c));
    await assert.rejects(b.store.reply(t.id, "8080", worker(c)), StaleLeaseError);
    assert.deepEqual((await b.store.showTask(t.id)).comments, []);
  },
);
