/** Leases, liveness fingerprints, logs and workspaces under the dispatcher. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { readStat } from "../../lib/dispatch/proc.ts";
import { agent, harness } from "./_harness.ts";
import { tempDir } from "../_setup.ts";

Deno.test("a run claimed outside the dispatcher whose lease expires is ended as lost", async () => {
  await using h = await harness({ coder: agent("complete.sh") });
  const task = await h.create("claimed by hand", "nobody");
  const claim = (await h.store.claim({ taskId: task.id, leaseMs: 60_000 }, { name: "bob" }))!;
  await h.until(() => true);
  assert.equal((await h.store.getRun(claim.run.id)).open, true, "lease still valid");
  h.clock.advance(61_000);
  const [report] = await h.until(() => true);
  assert.deepEqual(report!.ended.map((e) => [e.run, e.outcome]), [[claim.run.id, "lost"]]);
  const t = await h.store.getTask(task.id);
  assert.equal(t.status, "ready");
  assert.equal(t.consecutive_failures, 1, "a lost lease counts");
});

Deno.test("a recorded pid that now belongs to another process (reused) is not taken for the worker", async () => {
  await using h = await harness({ coder: agent("complete.sh") });
  const task = await h.create("pid reuse", "nobody");
  const claim = (await h.store.claim({ taskId: task.id }, { name: "dispatcher" }))!;
  // Our own pid is alive, but with another start time it is another process.
  const me = readStat(process.pid)!;
  await h.store.recordSpawn(claim.run.id, {
    pid: process.pid,
    pid_start_time: me.startTime - 1,
    host: h.dispatcher.host,
    log_path: null,
    workspace: null,
  }, { name: "dispatcher" });
  const [report] = await h.until(() => true);
  assert.equal(report!.adopted.length, 0);
  assert.deepEqual(report!.ended.map((e) => [e.outcome, e.reason]), [
    ["crashed", `worker process ${process.pid} is reused`],
  ]);
  assert.equal((await h.store.getRun(claim.run.id)).open, false);
});

Deno.test("the dispatcher renews the lease of a live worker that prints but never heartbeats", async () => {
  await using h = await harness(
    { talker: agent("chatty.sh") },
    'lease = "1s"\nlog_max_bytes = "1KB"',
  );
  const task = await h.create("talkative", "talker");
  let longest = 0;
  await h.until(async () => {
    const run = (await h.store.listRuns(task.id))[0];
    if (run?.open && run.lease_expires) {
      longest = Math.max(longest, Date.parse(run.lease_expires) - Date.parse(run.started_at));
    }
    return (await h.status(task.id)) === "done";
  });
  const runs = await h.store.listRuns(task.id);
  assert.equal(runs.length, 1, "never reclaimed, never run twice");
  assert.ok(longest > 1_500, `the lease was renewed (reached ${longest} ms after start)`);
  assert.equal(runs[0]!.heartbeat_at, null, "the worker itself never heartbeat");
  const log = runs[0]!.log_path!;
  assert.ok(existsSync(`${log}.1`), "the log was rotated");
  assert.ok(statSync(log).size <= 4096);
});

Deno.test("dir: workspaces run in the shared folder; worktrees on branch kanban/<id>, reused on retry", async () => {
  using repo = tempDir("kanban-repo-");
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      cwd: repo.dir,
      encoding: "utf8",
    });
  git("init", "-q", "-b", "main");
  git("commit", "-q", "--allow-empty", "-m", "start");
  await using h = await harness(
    { placer: agent("where.sh") },
    `repository = "${repo.dir}"\nbackoff = "1s"\nmax_backoff = "1s"`,
    { FAIL_FIRST: "1" },
  );
  const shared = join(h.home, "shared");
  mkdirSync(shared);
  const inDir = await h.create("in dir", "placer", { workspace: `dir:${shared}` });
  const inTree = await h.create("in worktree", "placer", { workspace: "worktree" });
  await h.until(async () => {
    h.clock.advance(2_000); // past the retry backoff after each first attempt fails
    return (await h.status(inDir.id)) === "done" && (await h.status(inTree.id)) === "done";
  });
  const lines = (dir: string) => readFileSync(join(dir, "where.txt"), "utf8").trim().split("\n");
  assert.deepEqual(lines(shared), [`${shared} -`, `${shared} -`]);
  const tree = (await h.store.listRuns(inTree.id))[0]!.workspace!;
  assert.match(tree, new RegExp(`worktrees/${inTree.id}$`));
  const branch = `kanban/${inTree.id}`;
  assert.deepEqual(lines(tree), [`${tree} ${branch}`, `${tree} ${branch}`], "one worktree, reused");
  assert.equal((await h.store.listRuns(inTree.id)).length, 2);
  assert.match(git("branch", "--list", branch), new RegExp(branch));
});
