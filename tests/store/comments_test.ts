import assert from "node:assert/strict";
import { NotFoundError, ValidationError } from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { add, boardState, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

conformance("comment() by a person stores the text, the author and no run", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "discuss");
  const c = await b.store.comment(task.id, "Use **SQLite**.\nNot Postgres.", HUMAN);
  assert.deepEqual({ ...c, id: 0 }, {
    id: 0,
    task_id: task.id,
    run_id: null,
    author: "alice",
    body: "Use **SQLite**.\nNot Postgres.",
    created_at: "2026-01-01T00:00:00.000Z",
  });
  const ev = (await b.store.showTask(task.id)).events.at(-1)!;
  assert.equal(ev.kind, "commented");
  assert.deepEqual(ev.data, { comment: c.id });
});

conformance("comment() by a worker records the run it came from", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "work");
  const c = await claimId(b.store, task.id);
  const cm = await b.store.comment(task.id, "halfway", worker(c));
  assert.equal(cm.run_id, c.run.id);
  assert.equal(cm.author, "coder-1");
  const mid = await b.store.comment(task.id, "a person may comment too", HUMAN);
  assert.equal(mid.run_id, null);
});

conformance("comment() refuses an empty or oversized comment and changes nothing", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "discuss");
  const before = await boardState(b.store);
  for (
    const [body, msg] of [["", /comment is empty/], [" \n\t", /comment is empty/], [
      "x".repeat(64 * 1024 + 1),
      /comment is longer than 65536 characters/,
    ]] as const
  ) {
    await assert.rejects(
      b.store.comment(task.id, body, HUMAN),
      (err: unknown) => err instanceof ValidationError && msg.test(err.message),
    );
  }
  await assert.rejects(b.store.comment(task.id, "hi", { name: " " }), ValidationError);
  // node:sqlite would bind the name cut at the NUL (found by the HTTP fuzz test as a 500).
  for (const name of ["\0", "al\0ice"]) {
    await assert.rejects(
      b.store.comment(task.id, "hi", { name }),
      (err: unknown) => err instanceof ValidationError && /author contains a NUL/.test(err.message),
    );
  }
  await assert.rejects(b.store.comment("t_00000000", "hi", HUMAN), NotFoundError);
  assert.deepEqual(await boardState(b.store), before);
});

conformance(
  "showTask() lists comments oldest first and the most recent events up to a limit",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "chatty");
    for (let i = 1; i <= 5; i++) await b.store.comment(task.id, `c${i}`, HUMAN);
    const shown = await b.store.showTask(task.id, 3);
    assert.deepEqual(shown.comments.map((c) => c.body), ["c1", "c2", "c3", "c4", "c5"]);
    assert.equal(shown.events.length, 3);
    const all = (await b.store.showTask(task.id)).events;
    assert.deepEqual(shown.events, all.slice(-3));
  },
);

conformance(
  "eventsSince() reads the board's event stream after a cursor, in order",
  async (drv) => {
    await using b = await drv.fresh();
    const a = await add(b.store, "a");
    const first = await b.store.eventsSince(0);
    assert.deepEqual(first.map((e) => [e.kind, e.task_id]), [["created", a.id]]);
    const cursor = first.at(-1)!.id;
    const c = await add(b.store, "c");
    await b.store.comment(a.id, "hi", HUMAN);
    const next = await b.store.eventsSince(cursor);
    assert.deepEqual(next.map((e) => [e.kind, e.task_id]), [["created", c.id], [
      "commented",
      a.id,
    ]]);
    assert.deepEqual(await b.store.eventsSince(cursor, 1), next.slice(0, 1));
    assert.deepEqual(await b.store.eventsSince(next.at(-1)!.id), []);
    assert.equal(next[0]!.at, "2026-01-01T00:00:00.000Z");
    assert.deepEqual(next[0]!.data, { to: "ready" });
  },
);
