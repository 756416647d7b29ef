/**
 * A task's attachments reach its worker: the dispatcher writes them into the workspace before
 * the worker starts, and the prompt lists where they are; a worker attaches its own files.
 * Real dispatcher, real worker process (a shell script), the compiled binary for its writes.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { materializeAttachments } from "../../lib/workspace/attachments.ts";
import { openStore } from "../../lib/store/mod.ts";
import { tempDir } from "../_setup.ts";
import { agent, harness } from "./_harness.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("a worker finds its task's attachments in its workspace and attaches its answer", async () => {
  await using h = await harness({ coder: agent("attachment.sh") });
  const t = await h.create("follow the spec", "coder");
  await h.store.attach(t.id, { name: "spec.txt", content: bytes("make it loud\nplease\n") }, {
    name: "alice",
  });
  await h.until(async () => (await h.status(t.id)) === "done");
  const run = (await h.store.listRuns(t.id))[0]!;
  assert.equal(run.summary, "spec: make it loud");
  const answer = await h.store.attachment(t.id, "answer.txt");
  assert.equal(new TextDecoder().decode(answer.content), "MAKE IT LOUD\nPLEASE\n");
  assert.equal(answer.attachment.run_id, run.id);
  const file = join(run.workspace!, ".kanban", "attachments", t.id, "spec.txt");
  assert.equal(readFileSync(file, "utf8"), "make it loud\nplease\n");
  assert.equal(statSync(file).mode & 0o777, 0o644);
  assert.equal(readFileSync(join(run.workspace!, ".kanban", ".gitignore"), "utf8"), "*\n");
  const prompt = readFileSync(run.log_path!.replace(/\.log$/, ".prompt.md"), "utf8");
  assert.match(
    prompt,
    new RegExp(
      `## Attachments\\n\\n.*\\n\\n- \`\\.kanban/attachments/${t.id}/spec\\.txt\` \\(20 bytes, text/plain\\)`,
    ),
  );
});

Deno.test("a worker finds the attachments of the task it waits for in its workspace too", async () => {
  await using h = await harness({ coder: agent("parent_attachment.sh") });
  const epic = await h.store.createTask({ title: "the epic" }, { name: "alice" });
  await h.store.attach(epic.task.id, { name: "spec.txt", content: bytes("be brief\n") }, {
    name: "alice",
  });
  const part = await h.store.createTask({
    title: "a part",
    assignee: "coder",
    parents: [epic.task.id],
  }, { name: "alice" });
  await h.store.complete(epic.task.id, { summary: "split into parts" }, { name: "alice" });
  await h.until(async () => (await h.status(part.task.id)) === "done");
  const run = (await h.store.listRuns(part.task.id))[0]!;
  assert.equal(run.summary, "parent spec: be brief");
  const file = join(run.workspace!, ".kanban", "attachments", epic.task.id, "spec.txt");
  assert.equal(readFileSync(file, "utf8"), "be brief\n");
  const prompt = readFileSync(run.log_path!.replace(/\.log$/, ".prompt.md"), "utf8");
  assert.match(
    prompt,
    new RegExp(
      `- \`\\.kanban/attachments/${epic.task.id}/spec\\.txt\` \\(9 bytes, text/plain\\) of ` +
        epic.task.id,
    ),
  );
});

Deno.test("materializeAttachments mirrors the task's attachments and never follows a link out", async () => {
  using tmp = tempDir("kanban-attach-");
  const store = openStore(join(tmp.dir, "board.db"), { create: true });
  try {
    const { task } = await store.createTask({ title: "t" }, { name: "alice" });
    const ws = join(tmp.dir, "ws");
    mkdirSync(ws);
    assert.deepEqual(await materializeAttachments(store, task.id, ws), []);
    assert.equal(existsSync(join(ws, ".kanban")), false, "no attachments, no folder");
    await store.attach(task.id, { name: "a.txt", content: bytes("a") }, { name: "alice" });
    await store.attach(task.id, { name: "b.bin", content: new Uint8Array([0, 255]) }, {
      name: "alice",
    });
    const dir = join(ws, ".kanban", "attachments", task.id);
    assert.deepEqual(await materializeAttachments(store, task.id, ws), [
      join(dir, "a.txt"),
      join(dir, "b.bin"),
    ]);
    // a detached attachment leaves the folder at the next start; a planted link is replaced
    await store.detach(task.id, "a.txt", { name: "alice" });
    const outside = join(tmp.dir, "outside.txt");
    writeFileSync(outside, "keep");
    symlinkSync(outside, join(dir, "b.bin").replace("b.bin", "link"));
    await materializeAttachments(store, task.id, ws);
    assert.equal(existsSync(join(dir, "a.txt")), false);
    assert.equal(existsSync(join(dir, "link")), false);
    assert.equal(readFileSync(outside, "utf8"), "keep");
    assert.deepEqual(new Uint8Array(readFileSync(join(dir, "b.bin"))), new Uint8Array([0, 255]));
    // the attachments folder itself a link: refused, nothing written through it
    const ws2 = join(tmp.dir, "ws2");
    mkdirSync(join(ws2), { recursive: true });
    symlinkSync(tmp.dir, join(ws2, ".kanban"));
    await assert.rejects(
      materializeAttachments(store, task.id, ws2),
      /Cannot write attachments: ".*\.kanban" is a symbolic link/,
    );
  } finally {
    store.close();
  }
});
