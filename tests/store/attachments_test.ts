import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  ConflictError,
  KanbanError,
  NotFoundError,
  StaleLeaseError,
  ValidationError,
} from "../../lib/store/mod.ts";
import { HUMAN } from "../_setup.ts";
import { add, boardState, claimId, worker } from "./_helpers.ts";
import { conformance } from "./_drivers.ts";

const DAY = 24 * 3600 * 1000;
const bytes = (s: string) => new TextEncoder().encode(s);
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

conformance(
  "attach() stores a file; attachments() lists it without content; attachment() reads it back",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "read the spec");
    // every byte value, so that binary content round-trips exactly
    const content = new Uint8Array(512).map((_, i) => i % 256);
    const a = await b.store.attach(task.id, { name: "spec.bin", content }, HUMAN);
    assert.deepEqual({ ...a, id: 0 }, {
      id: 0,
      task_id: task.id,
      run_id: null,
      name: "spec.bin",
      media_type: "application/octet-stream",
      size: 512,
      sha256: sha(content),
      created_by: "alice",
      created_at: "2026-01-01T00:00:00.000Z",
    });
    await b.store.attach(task.id, { name: "notes.md", content: bytes("# notes\n") }, HUMAN);
    const list = await b.store.attachments(task.id);
    assert.deepEqual(list.map((x) => [x.name, x.media_type, x.size]), [
      ["notes.md", "text/markdown", 8],
      ["spec.bin", "application/octet-stream", 512],
    ]);
    assert.ok(list.every((x) => !("content" in x)), "a listing carries no content");
    const got = await b.store.attachment(task.id.slice(0, 6), "spec.bin");
    assert.deepEqual(got.attachment, a);
    assert.deepEqual(got.content, content);
    const ev = (await b.store.showTask(task.id)).events.filter((e) => e.kind === "attached");
    assert.deepEqual(ev.map((e) => e.data.name), ["spec.bin", "notes.md"]);
    assert.deepEqual(ev[0]!.data, {
      attachment: a.id,
      name: "spec.bin",
      size: 512,
      sha256: sha(content),
    });
  },
);

conformance("attach() takes an empty file and a given media type", async (drv) => {
  await using b = await drv.fresh();
  const task = await add(b.store, "t");
  const a = await b.store.attach(task.id, {
    name: "empty",
    content: new Uint8Array(0),
    media_type: "Text/Plain; charset=utf-8",
  }, HUMAN);
  assert.equal(a.size, 0);
  assert.equal(a.media_type, "text/plain");
  assert.deepEqual((await b.store.attachment(task.id, "empty")).content, new Uint8Array(0));
});

conformance(
  "attach() refuses unsafe names, naming the name and what is wrong, and changes nothing",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "t");
    const before = await boardState(b.store);
    const cases: [string, RegExp][] = [
      ["", /is empty/],
      ["../etc/passwd", /path separator/],
      ["a/b.txt", /path separator/],
      ["a\\b.txt", /path separator/],
      ["..", /names a folder/],
      [".", /names a folder/],
      ["bad\nname", /control/],
      ["nul\0", /control/],
      ["evil\u202etxt.exe", /bidirectional/],
      [" spaced", /white space/],
      ["-rf", /begins with "-"/],
      ["x".repeat(256), /longer than 255 characters/],
    ];
    for (const [name, why] of cases) {
      await assert.rejects(
        b.store.attach(task.id, { name, content: bytes("x") }, HUMAN),
        (err: unknown) =>
          err instanceof ValidationError && err.message.includes("Invalid attachment name") &&
          why.test(err.message),
        `name ${JSON.stringify(name)}`,
      );
    }
    await assert.rejects(
      b.store.attach(
        task.id,
        { name: "a.txt", content: bytes("x"), media_type: "<script>" },
        HUMAN,
      ),
      (err: unknown) =>
        err instanceof ValidationError && /Invalid media type "<script>"/.test(err.message),
    );
    assert.deepEqual(await b.store.attachments(task.id), []);
    assert.deepEqual(await boardState(b.store), before);
  },
);

conformance(
  "attach() refuses a file over the cap and a task over its total, with too_large",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "t");
    const limits = { maxBytes: 10, taskMaxBytes: 15 };
    await assert.rejects(
      b.store.attach(task.id, { name: "big.log", content: new Uint8Array(11) }, HUMAN, limits),
      (err: unknown) =>
        err instanceof KanbanError && err.code === "too_large" &&
        /"big.log" is 11 bytes; the board's cap is 10 bytes/.test(err.message),
    );
    await b.store.attach(task.id, { name: "a", content: new Uint8Array(10) }, HUMAN, limits);
    await assert.rejects(
      b.store.attach(task.id, { name: "b", content: new Uint8Array(6) }, HUMAN, limits),
      (err: unknown) =>
        err instanceof KanbanError &&
        /would hold 16 bytes; a task holds at most 15/.test(err.message),
    );
    await b.store.attach(task.id, { name: "b", content: new Uint8Array(5) }, HUMAN, limits);
    assert.deepEqual((await b.store.attachments(task.id)).map((a) => a.name), ["a", "b"]);
    await assert.rejects(
      b.store.attach(task.id, { name: "c", content: new Uint8Array(1) }, HUMAN, {
        maxBytes: 0,
        taskMaxBytes: 1,
      }),
      /Invalid attachment cap maxBytes: 0/,
    );
  },
);

conformance(
  "attach() refuses a name the task has, a missing task and an archived task",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "t");
    await b.store.attach(task.id, { name: "log.txt", content: bytes("one") }, HUMAN);
    await assert.rejects(
      b.store.attach(task.id, { name: "log.txt", content: bytes("two") }, HUMAN),
      (err: unknown) =>
        err instanceof ConflictError && err.code === "attachment_exists" &&
        /already has an attachment named "log.txt"/.test(err.message),
    );
    assert.deepEqual((await b.store.attachment(task.id, "log.txt")).content, bytes("one"));
    // another task may use the same name
    const other = await add(b.store, "other");
    await b.store.attach(other.id, { name: "log.txt", content: bytes("three") }, HUMAN);
    await assert.rejects(
      b.store.attach("t_00000000", { name: "x", content: bytes("x") }, HUMAN),
      NotFoundError,
    );
    await b.store.archive(other.id, HUMAN);
    await assert.rejects(
      b.store.attach(other.id, { name: "y", content: bytes("y") }, HUMAN),
      (err: unknown) => err instanceof ConflictError && /is archived/.test(err.message),
    );
  },
);

conformance(
  "detach() removes the attachment and its content and records the event",
  async (drv) => {
    await using b = await drv.fresh();
    const task = await add(b.store, "t");
    await b.store.attach(task.id, { name: "a.txt", content: bytes("a") }, HUMAN);
    const gone = await b.store.detach(task.id, "a.txt", HUMAN);
    assert.equal(gone.name, "a.txt");
    assert.deepEqual(await b.store.attachments(task.id), []);
    await assert.rejects(
      b.store.attachment(task.id, "a.txt"),
      (err: unknown) =>
        err instanceof NotFoundError && /has no attachment named "a.txt"/.test(err.message),
    );
    await assert.rejects(b.store.detach(task.id, "a.txt", HUMAN), NotFoundError);
    const kinds = (await b.store.showTask(task.id)).events.map((e) => e.kind);
    assert.deepEqual(kinds.slice(-2), ["attached", "detached"]);
    // the name is free again
    await b.store.attach(task.id, { name: "a.txt", content: bytes("b") }, HUMAN);
  },
);

conformance(
  "a worker attaches to and detaches from its own task only, fenced by its token",
  async (drv) => {
    await using b = await drv.fresh();
    const mine = await add(b.store, "mine");
    const theirs = await add(b.store, "theirs");
    await b.store.attach(theirs.id, { name: "keep.txt", content: bytes("k") }, HUMAN);
    const c = await claimId(b.store, mine.id);
    const confined = b.store.confinedTo({ task: mine.id, token: c.token });
    const a = await confined.attach(mine.id, { name: "out.log", content: bytes("log") }, worker(c));
    assert.equal(a.run_id, c.run.id);
    assert.equal(a.created_by, "coder-1");
    const before = await boardState(b.store);
    await assert.rejects(
      confined.attach(theirs.id, { name: "x.txt", content: bytes("x") }, worker(c)),
      (err: unknown) =>
        err instanceof KanbanError && /lease token belongs to task/.test(err.message),
    );
    await assert.rejects(
      confined.detach(theirs.id, "keep.txt", worker(c)),
      (err: unknown) =>
        err instanceof KanbanError && /lease token belongs to task/.test(err.message),
    );
    assert.deepEqual(await boardState(b.store), before);
    await confined.detach(mine.id, "out.log", worker(c));
    await b.store.complete(mine.id, {}, worker(c));
    await assert.rejects(
      confined.attach(mine.id, { name: "late.txt", content: bytes("x") }, worker(c)),
      StaleLeaseError,
    );
    assert.deepEqual((await b.store.attachments(theirs.id)).map((x) => x.name), ["keep.txt"]);
  },
);

conformance(
  "pruneAttachments() removes the attachments of tasks archived before the cutoff, and only those",
  async (drv) => {
    await using b = await drv.fresh();
    const old = await add(b.store, "old");
    const live = await add(b.store, "live");
    const done = await add(b.store, "done, not archived");
    for (const t of [old, live, done]) {
      await b.store.attach(t.id, { name: "f.bin", content: new Uint8Array(100) }, HUMAN);
    }
    await b.store.archive(old.id, HUMAN);
    const c = await claimId(b.store, done.id);
    await b.store.complete(done.id, {}, worker(c));
    b.clock.advance(31 * DAY);
    const late = await add(b.store, "archived recently");
    await b.store.attach(late.id, { name: "f.bin", content: new Uint8Array(7) }, HUMAN);
    await b.store.archive(late.id, HUMAN);

    assert.deepEqual(await b.store.pruneAttachments(30 * DAY, true), {
      attachments: 1,
      bytes: 100,
    });
    assert.equal((await b.store.attachments(old.id)).length, 1, "a dry run removes nothing");
    assert.deepEqual(await b.store.pruneAttachments(30 * DAY), { attachments: 1, bytes: 100 });
    assert.deepEqual(await b.store.attachments(old.id), []);
    await assert.rejects(b.store.attachment(old.id, "f.bin"), NotFoundError);
    for (const t of [live, done, late]) assert.equal((await b.store.attachments(t.id)).length, 1);
    assert.deepEqual(await b.store.pruneAttachments(30 * DAY), { attachments: 0, bytes: 0 });
    assert.deepEqual(await b.store.pruneAttachments(0), { attachments: 1, bytes: 7 });
    assert.deepEqual(await b.store.checkInvariants(), []);
  },
);
