/**
 * The artifacts a task's workers list in their completion metadata (`artifact`, `artifacts`):
 * listed with whether they exist and their size, and a text artifact's content read, capped,
 * only from inside the task's workspace (symlinks resolved) and only when listed.
 */
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { artifactContent, ArtifactRefusedError, taskArtifacts } from "../../lib/review/mod.ts";
import { NotFoundError } from "../../lib/store/mod.ts";
import { prepareWorkspace } from "../../lib/workspace/workspace.ts";
import { HUMAN, setup } from "../_setup.ts";
import { claimId, worker } from "../store/_helpers.ts";

/** A scratch task whose worker wrote files and completed listing them (and some it did not). */
async function completed(metadata: Record<string, unknown>) {
  const b = setup();
  const settings = { root: join(b.dir, "workspaces") };
  const { task } = await b.store.createTask({ title: "write the report" }, HUMAN);
  const ws = prepareWorkspace("scratch", task.id, settings);
  mkdirSync(join(ws, "out"));
  writeFileSync(join(ws, "out", "report.md"), "# Report\n\nAll good.\n");
  writeFileSync(join(ws, "data.bin"), new Uint8Array([1, 0, 2]));
  writeFileSync(join(b.dir, "secret.txt"), "not for the browser\n");
  symlinkSync(join(b.dir, "secret.txt"), join(ws, "link.txt"));
  const claim = await claimId(b.store, task.id);
  await b.store.recordSpawn(claim.run.id, {
    pid: 1,
    pid_start_time: null,
    host: "h",
    log_path: null,
    workspace: ws,
  }, HUMAN);
  await b.store.complete(task.id, { summary: "done", metadata }, worker(claim));
  return { b, task, ws, settings, [Symbol.asyncDispose]: () => b[Symbol.asyncDispose]() };
}

Deno.test("taskArtifacts() lists `artifact` and `artifacts` (paths or {path}) with existence, size and place", async () => {
  await using t = await completed({
    artifact: "out/report.md",
    artifacts: [
      { path: "data.bin", description: "raw numbers" },
      "missing.txt",
      "link.txt",
      "/etc/hostname",
    ],
  });
  const a = await taskArtifacts(t.b.store, t.task.id, t.settings);
  assert.equal(a.workspace, t.ws);
  const by = Object.fromEntries(a.artifacts.map((x) => [x.path, x]));
  assert.deepEqual(
    [by["out/report.md"]!.exists, by["out/report.md"]!.size, by["out/report.md"]!.kind],
    [true, 20, "file"],
  );
  assert.equal(by["out/report.md"]!.resolved, join(t.ws, "out", "report.md"));
  assert.equal(by["out/report.md"]!.inside_workspace, true);
  assert.equal(by["data.bin"]!.note, "raw numbers");
  assert.deepEqual([by["missing.txt"]!.exists, by["missing.txt"]!.size], [false, null]);
  assert.equal(by["link.txt"]!.inside_workspace, false, "a link out of the workspace is outside");
  assert.equal(by["/etc/hostname"]!.inside_workspace, false);
  assert.equal(a.artifacts.every((x) => x.run !== null), true);
});

Deno.test("artifactContent() reads a listed text file inside the workspace, capped", async () => {
  await using t = await completed({ artifacts: ["out/report.md", "data.bin"] });
  const c = await artifactContent(t.b.store, t.task.id, "out/report.md", t.settings);
  assert.deepEqual([c.text, c.binary, c.truncated, c.size], [
    "# Report\n\nAll good.\n",
    false,
    false,
    20,
  ]);
  const cut = await artifactContent(t.b.store, t.task.id, "out/report.md", t.settings, 8);
  assert.deepEqual([cut.text, cut.truncated], ["# Report", true]);
  const bin = await artifactContent(t.b.store, t.task.id, "data.bin", t.settings);
  assert.deepEqual([bin.binary, bin.text], [true, null]);
});

Deno.test("artifactContent() refuses a path outside the workspace, a link out of it, and paths not listed", async () => {
  await using t = await completed({
    artifacts: ["link.txt", "/etc/hostname", "../../../secret.txt"],
  });
  for (const p of ["link.txt", "/etc/hostname", "../../../secret.txt"]) {
    await assert.rejects(
      artifactContent(t.b.store, t.task.id, p, t.settings),
      (e) => e instanceof ArtifactRefusedError && /is outside its workspace/.test(e.message),
      p,
    );
  }
  await assert.rejects(
    artifactContent(t.b.store, t.task.id, "out/report.md", t.settings),
    (e) => e instanceof NotFoundError && /lists no artifact "out\/report\.md"/.test(e.message),
  );
});

Deno.test("taskArtifacts() of a task with no metadata lists none", async () => {
  await using b = setup();
  const { task } = await b.store.createTask({ title: "plain" }, HUMAN);
  const a = await taskArtifacts(b.store, task.id, { root: join(b.dir, "ws") });
  assert.deepEqual([a.artifacts, a.truncated], [[], false]);
});
