/**
 * A worker's report through a board held locked by another process (a real fault: another
 * connection holds SQLite's lock exclusively, as a stuck writer or a backup tool would): the
 * real `dist/kanban complete`, inside a worker's environment, waits, tries again, and lands
 * once when the lock goes; a lock held past the run's lease makes it give up with a clear
 * message and exit code 3, leaving the report for the dispatcher.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { openStore, type Store } from "../../lib/store/mod.ts";
import { readPendingReport } from "../../lib/pending_report.ts";
import { BINARY } from "../e2e/_binary.ts";
import { DISPATCHER, HUMAN, tempDir } from "../_setup.ts";

/** The lock holder: another process holding the board's write lock for `ms`. */
const HOLDER = `
import { DatabaseSync } from "node:sqlite";
const [path, ms] = Deno.args;
const db = new DatabaseSync(path);
db.exec("PRAGMA busy_timeout = 5000");
db.exec("BEGIN IMMEDIATE");
db.exec("CREATE TABLE IF NOT EXISTS _holder(x)");
console.log("locked");
setTimeout(() => { db.exec("ROLLBACK"); db.close(); }, Number(ms));
`;

async function hold(boardPath: string, ms: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["eval", HOLDER, boardPath, String(ms)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => d.toString().includes("locked") && resolve());
    child.once("exit", (code) => reject(new Error(`the lock holder exited ${code}`)));
  });
  return child;
}

function run(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>(
    (resolve) => {
      const started = performance.now();
      const child = spawn(BINARY, args, { env, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.once(
        "exit",
        (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }),
      );
    },
  );
}

async function scene(leaseMs: number) {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run scripts/build first`);
  const tmp = tempDir("kanban-report-lock-");
  const boardPath = join(tmp.dir, "board.db");
  const store: Store = openStore(boardPath, { create: true });
  const task = (await store.createTask({ title: "report", assignee: "coder" }, HUMAN)).task;
  const claim = (await store.claim({ taskId: task.id, profile: "coder", leaseMs }, DISPATCHER))!;
  const reportFile = join(tmp.dir, `run-${claim.run.id}.report.json`);
  const env = {
    PATH: "/usr/bin:/bin",
    HOME: tmp.dir,
    KANBAN_HOME: tmp.dir,
    KANBAN_DB: boardPath,
    KANBAN_TASK: task.id,
    KANBAN_RUN: String(claim.run.id),
    KANBAN_TOKEN: claim.token,
    KANBAN_PROFILE: "coder",
    KANBAN_LEASE_MS: String(leaseMs),
    KANBAN_REPORT_FILE: reportFile,
  };
  return {
    store,
    boardPath,
    task: task.id,
    env,
    reportFile,
    [Symbol.dispose]: () => {
      store.close();
      tmp[Symbol.dispose]();
    },
  };
}

const SUMMARY = ["complete", "--summary", "done", "--metadata", '{"files":2}'];

async function completedEvents(store: Store, id: string): Promise<number> {
  return (await store.showTask(id)).events.filter((e) => e.kind === "completed").length;
}

Deno.test("kanban complete waits out a board locked by another process for a second, and lands once", async () => {
  using sc = await scene(60_000);
  const holder = await hold(sc.boardPath, 1_000);
  const r = await run(SUMMARY, sc.env);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.ms >= 500, `it waited for the lock (${Math.round(r.ms)} ms)`);
  // the same report again, as after an answer lost on the way back: still one completion
  const again = await run(SUMMARY, sc.env);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((await sc.store.getTask(sc.task)).status, "done");
  assert.equal(await completedEvents(sc.store, sc.task), 1);
  holder.kill();
});

Deno.test("kanban complete tries again after a busy timeout while the lease allows, and lands once", async () => {
  // an 8 s lease: each try waits at most 2 s for the lock (three times), then tries again
  using sc = await scene(8_000);
  const holder = await hold(sc.boardPath, 7_000);
  const r = await run(SUMMARY, sc.env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /complete of task "t_[0-9a-f]+" not delivered \(try 1: .*locked/);
  assert.equal((await sc.store.getTask(sc.task)).status, "done");
  assert.equal(await completedEvents(sc.store, sc.task), 1);
  assert.equal(existsSync(sc.reportFile), false);
  holder.kill();
});

Deno.test("kanban complete gives up when the lock outlasts the lease: exit 3, the report left for the dispatcher", async () => {
  using sc = await scene(3_000);
  const holder = await hold(sc.boardPath, 8_000);
  const r = await run(SUMMARY, sc.env);
  holder.kill();
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    /Could not deliver the complete of task "t_[0-9a-f]+" within its lease \(3 s, \d+ tries\): .*saved to .*report\.json: the dispatcher delivers it when this worker exits, so stop working now/,
  );
  const saved = readPendingReport(sc.reportFile);
  assert.ok(saved !== null && typeof saved === "object", String(saved));
  assert.equal(saved.task, sc.task);
  assert.deepEqual(saved.input, { summary: "done", metadata: { files: 2 } });
  await new Promise((resolve) => holder.once("exit", resolve));
  assert.equal((await sc.store.getTask(sc.task)).status, "running", "nothing was written");
});
