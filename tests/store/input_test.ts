/**
 * Bad input at the store: every surface reaches the board through these checks, so each
 * refusal must be a ValidationError (code invalid_input, exit code 2) with a message that
 * names the problem, and must leave the board exactly as it was.
 */
import assert from "node:assert/strict";
import { BODY_MAX_BYTES, type Store, ValidationError } from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { add, boardState, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";
import { exitCodeOf } from "../../lib/cli/exit_codes.ts";

/** refuses asserts that `write` fails with a ValidationError matching `message` and changes nothing. */
async function refuses(
  b: { store: Store },
  write: () => Promise<unknown>,
  message: RegExp,
): Promise<void> {
  const before = await boardState(b.store);
  const err = await write().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ValidationError, `expected a ValidationError, got ${err}`);
  assert.equal(err.code, "invalid_input");
  assert.equal(exitCodeOf(err.code), 2);
  assert.match(err.message, message);
  assert.equal(err.message.includes("\n"), false, "one line");
  assert.deepEqual(await boardState(b.store), before);
}

const create = (store: Store, input: Record<string, unknown>) =>
  store.createTask({ title: "ok", ...input } as never, HUMAN);

conformance("createTask() refuses an empty or blank title", async (drv) => {
  await using b = await drv.fresh();
  await add(b.store, "existing");
  for (const title of ["", "   ", "\t"]) {
    await refuses(b, () => create(b.store, { title }), /^Invalid task: title is empty$/);
  }
});

conformance(
  "createTask() refuses a title of several lines, but trims surrounding space",
  async (drv) => {
    await using b = await drv.fresh();
    for (const title of ["first\nsecond", "a\r\nb", "a\rb"]) {
      await refuses(b, () => create(b.store, { title }), /^Invalid task: title must be one line$/);
    }
    assert.equal((await add(b.store, "  padded \n")).title, "padded");
  },
);

conformance("createTask() refuses a title over 500 characters", async (drv) => {
  await using b = await drv.fresh();
  await refuses(
    b,
    () => create(b.store, { title: "x".repeat(501) }),
    /title is longer than 500 characters/,
  );
  assert.equal((await add(b.store, "x".repeat(500))).title.length, 500);
});

conformance("createTask() accepts a 1,000,000-byte body and reads it back intact", async (drv) => {
  await using b = await drv.fresh();
  const line = "0123456789 ünïcødé ✓ 🚀\n"; // mixes 1-, 2-, 3- and 4-byte characters
  let body = line.repeat(Math.floor(1_000_000 / new TextEncoder().encode(line).length));
  body += "x".repeat(1_000_000 - new TextEncoder().encode(body).length);
  assert.equal(new TextEncoder().encode(body).length, 1_000_000);
  const task = await add(b.store, "big", { body });
  assert.equal((await b.store.getTask(task.id)).body, body);
});

conformance(
  "createTask() accepts a body of exactly 1 MiB and refuses one byte more",
  async (drv) => {
    await using b = await drv.fresh();
    assert.equal(BODY_MAX_BYTES, 1_048_576);
    const task = await add(b.store, "limit", { body: "a".repeat(BODY_MAX_BYTES) });
    assert.equal((await b.store.getTask(task.id)).body.length, BODY_MAX_BYTES);
    await refuses(
      b,
      () => create(b.store, { body: "a".repeat(BODY_MAX_BYTES + 1) }),
      /^Invalid task: body is larger than 1048576 bytes \(1 MiB\)$/,
    );
  },
);

conformance("createTask() measures the body limit in UTF-8 bytes, not characters", async (drv) => {
  await using b = await drv.fresh();
  const body = "é".repeat(BODY_MAX_BYTES / 2 + 1); // fewer characters than the limit, more bytes
  assert.ok(body.length < BODY_MAX_BYTES);
  await refuses(b, () => create(b.store, { body }), /body is larger than 1048576 bytes/);
});

conformance("editTask() refuses an oversized body and keeps the old one", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "t", { body: "old" });
  await refuses(
    b,
    () => b.store.editTask(task.id, { body: "a".repeat(BODY_MAX_BYTES + 1) }, HUMAN),
    /^Invalid edit: body is larger than 1048576 bytes/,
  );
  await refuses(b, () => b.store.editTask(task.id, { title: " " }, HUMAN), /title is empty/);
  assert.equal((await b.store.getTask(task.id)).body, "old");
});

conformance(
  "text in every language, emoji, quotes and SQL-looking text is stored verbatim",
  async (drv) => {
    await using b = await drv.fresh();
    const samples = [
      "'; DROP TABLE tasks; --",
      `Robert"); DELETE FROM task_runs WHERE ("1"="1`,
      "\"double\" and 'single' and `back` quotes, \\ backslash, %_ wildcards",
      "שלום עולם مرحبا بالعالم", // right-to-left scripts
      "\u202Eevil.exe\u202C and a zero\u200Bwidth space",
      "emoji 👩🏽‍💻🇳🇱 and combining e\u0301",
      "日本語のタスク, 한국어, Ελληνικά, русский",
    ];
    for (const text of samples) {
      const task = await add(b.store, text, { body: `${text}\n\n${text}` });
      const got = await b.store.getTask(task.id);
      assert.equal(got.title, text);
      assert.equal(got.body, `${text}\n\n${text}`);
      const c = await b.store.comment(task.id, text, HUMAN);
      assert.equal(c.body, text);
      const done = await b.store.complete(task.id, {
        summary: text,
        result: text,
        metadata: { [text]: text },
      }, HUMAN);
      assert.equal(done.result, text);
      const ctx = await b.store.context(task.id);
      assert.equal(ctx.task.title, text);
    }
    assert.equal((await b.store.listTasks()).length, samples.length);
    assert.deepEqual(await b.store.integrityCheck(), []);
  },
);

conformance("text containing a NUL character is refused rather than cut short", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "t");
  await refuses(
    b,
    () => create(b.store, { body: "before\0after" }),
    /body contains a NUL character/,
  );
  await refuses(b, () => create(b.store, { title: "a\0b" }), /title contains a NUL character/);
  await refuses(
    b,
    () => b.store.comment(task.id, "a\0b", HUMAN),
    /comment contains a NUL character/,
  );
  await refuses(
    b,
    () => b.store.complete(task.id, { summary: "a\0b" }, HUMAN),
    /summary contains a NUL character/,
  );
});

conformance("complete() refuses metadata that is not an object", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "t");
  const c = await claimId(b.store, task.id);
  for (
    const [metadata, kind] of [[["a", "b"], "array"], ["text", "string"], [42, "number"], [
      null,
      "null",
    ]] as const
  ) {
    await refuses(
      b,
      () => b.store.complete(task.id, { metadata } as never, worker(c)),
      new RegExp(`^Invalid completion: metadata: .*expected record, received ${kind}$`),
    );
  }
  await refuses(
    b,
    () => b.store.complete(task.id, { metadata: { blob: "x".repeat(64 * 1024) } }, worker(c)),
    /metadata is larger than 65536 bytes/,
  );
  await refuses(
    b,
    () => b.store.complete(task.id, { summary: "s".repeat(20_001) }, worker(c)),
    /summary is longer than 20000 characters/,
  );
  assert.equal((await b.store.getTask(task.id)).status, "running");
});

conformance("createTask() refuses a priority out of range or not a whole number", async (drv) => {
  await using b = await drv.fresh();
  await refuses(b, () => create(b.store, { priority: 1001 }), /priority is above 1000/);
  await refuses(b, () => create(b.store, { priority: -1001 }), /priority is below -1000/);
  await refuses(b, () => create(b.store, { priority: 2.5 }), /priority must be a whole number/);
  await refuses(b, () => create(b.store, { priority: "soon" }), /priority must be a whole number/);
  assert.equal((await add(b.store, "named", { priority: "high" })).priority, 1, "a name is taken");
  const edge = [
    await add(b.store, "max", { priority: 1000 }),
    await add(b.store, "min", {
      priority: -1000,
    }),
  ];
  assert.deepEqual(edge.map((t) => t.priority), [1000, -1000]);
});

conformance(
  "createTask() refuses a workspace that is not scratch, worktree or dir:/absolute/path",
  async (drv) => {
    await using b = await drv.fresh();
    for (
      const workspace of ["", "tmp", "dir:", "dir:relative/path", "/abs/without/prefix", "git"]
    ) {
      await refuses(
        b,
        () => create(b.store, { workspace }),
        new RegExp(
          `workspace "${workspace}" is not scratch, worktree or dir:/absolute/path`.replaceAll(
            "/",
            "\\/",
          ),
        ),
      );
    }
  },
);

conformance(
  "createTask() refuses malformed names, skills, runtimes and idempotency keys",
  async (drv) => {
    await using b = await drv.fresh();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ assignee: "two words" }, /assignee may hold only letters, digits/],
      [{ assignee: "" }, /assignee is empty/],
      [{ tenant: "acme;drop" }, /tenant may hold only/],
      [{ tenant: "x".repeat(101) }, /tenant is longer than 100 characters/],
      [{ skills: ["ok", "not ok"] }, /skill may hold only/],
      [{ skills: Array.from({ length: 51 }, (_, i) => `s${i}`) }, /more than 50 skills/],
      [{ max_runtime_seconds: 0 }, /max runtime must be positive/],
      [{ max_runtime_seconds: 1.5 }, /max_runtime_seconds/],
      [{ idempotency_key: "  " }, /idempotency key is empty/],
      [{ idempotency_key: "k".repeat(201) }, /idempotency key is longer than 200 characters/],
      [{ idempotency_key: "\u0000" }, /idempotency key contains a control character/],
      [{ idempotency_key: "a\nb" }, /idempotency key contains a control character/],
      [{ not_before: "tomorrow" }, /not_before/],
      [{ parents: "t_12345678" }, /parents/],
    ];
    for (const [input, message] of cases) {
      await refuses(b, () => create(b.store, input), message);
    }
  },
);

conformance(
  "a refused write in the middle of a task's life leaves the task as it was",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "t");
    const c = await claimId(b.store, task.id);
    await refuses(b, () => b.store.block(task.id, "", worker(c)), /block reason is empty/);
    await refuses(b, () => b.store.comment(task.id, "", worker(c)), /comment is empty/);
    await refuses(b, () => b.store.cancel(task.id, " ", HUMAN), /reason is empty/);
    await refuses(b, () => b.store.resolveId("not an id"), /is not a task id/);
    assert.equal((await b.store.heartbeat(task.id, worker(c))).open, true);
  },
);
