import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agent, harness, pidAlive } from "./_harness.ts";

Deno.test("dispatch runs a completing agent: the run records completed and the child becomes ready", async () => {
  await using h = await harness({ coder: agent("complete.sh") });
  const parent = await h.create("schema", "coder");
  const child = await h.create("api", "coder", { parents: [parent.id] });
  await h.until(async () => (await h.status(child.id)) === "done");
  const runs = await h.store.listRuns(parent.id);
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.outcome, "completed");
  assert.equal(runs[0]!.summary, "done by coder");
  assert.equal(runs[0]!.exit_code, 0);
  const log = readFileSync(runs[0]!.log_path!, "utf8");
  assert.match(log, new RegExp(`working on ${parent.id} in .*/scratch/${parent.id}`));
  const ctx = await h.store.context(child.id);
  assert.equal(ctx.parents[0]!.summary, "done by coder");
});

Deno.test("every kind of failure is recorded with its outcome and counted", async () => {
  await using h = await harness({
    crasher: agent("crash.sh"),
    quitter: agent("exit0.sh"),
    limited: agent("transient.sh"),
    asker: agent("block.sh"),
  });
  const crash = await h.create("crash", "crasher");
  const quit = await h.create("quit", "quitter");
  const rate = await h.create("rate", "limited");
  const ask = await h.create("ask", "asker");
  await h.until(async () => {
    const runs = await Promise.all([crash, quit, rate, ask].map((t) => h.store.listRuns(t.id)));
    // Closed runs, and every worker reaped (its exit code recorded).
    return runs.every((r) => r.length === 1 && !r[0]!.open) && h.dispatcher.workerCount === 0;
  });
  const outcome = async (id: string) => (await h.store.listRuns(id))[0]!;
  assert.deepEqual(
    [await outcome(crash.id), await outcome(quit.id), await outcome(rate.id), await outcome(ask.id)]
      .map((r) => [r.outcome, r.exit_code]),
    [["crashed", 3], ["no_report", 0], ["transient", 75], ["blocked", 0]],
  );
  const t = async (id: string) => await h.store.getTask(id);
  assert.equal((await t(crash.id)).consecutive_failures, 1);
  assert.equal((await t(quit.id)).consecutive_failures, 1);
  assert.equal((await t(rate.id)).consecutive_failures, 0, "exit 75 is not counted");
  assert.equal((await t(ask.id)).status, "blocked");
  assert.equal((await t(crash.id)).status, "ready");
  assert.ok((await t(crash.id)).retry_after !== null, "a failed task backs off");
});

Deno.test("a task that keeps crashing is blocked at the failure limit with the reason", async () => {
  await using h = await harness(
    { crasher: agent("crash.sh") },
    'backoff = "1s"\nmax_backoff = "1s"',
  );
  const task = await h.create("doomed", "crasher");
  await h.until(async () => {
    h.clock.advance(2_000); // jump past each retry's backoff
    return (await h.status(task.id)) === "blocked";
  });
  const t = await h.store.getTask(task.id);
  assert.equal(t.consecutive_failures, 3);
  assert.match(t.blocked_reason!, /3 consecutive failed attempts; last: crashed: exit code 3/);
  assert.equal((await h.store.listRuns(task.id)).length, 3);
  await h.store.unblock(task.id, { name: "alice" });
  assert.equal((await h.store.getTask(task.id)).consecutive_failures, 0, "a human unblock resets");
});

Deno.test("a silent worker is stopped as stalled; a slow one past max_runtime as timed out", async () => {
  await using h = await harness({
    hanger: agent("hang.sh", 'stall_timeout = "1m"'),
    slowpoke: agent("slow.sh", 'max_runtime = "1h"\nstall_timeout = "1d"'),
  });
  const hang = await h.create("hang", "hanger");
  const slow = await h.create("slow", "slowpoke");
  await h.until(async () =>
    (await h.store.openRuns()).every((r) => r.pid !== null) &&
    (await h.store.openRuns()).length === 2
  );
  const pids = (await h.store.openRuns()).map((r) => r.pid!);
  h.clock.advance(2 * 60_000); // two minutes of silence
  await h.until(async () => (await h.store.listRuns(hang.id))[0]!.open === false);
  assert.equal((await h.store.listRuns(hang.id))[0]!.outcome, "stalled");
  assert.equal((await h.store.listRuns(slow.id))[0]!.open, true, "max_runtime not reached yet");
  h.clock.advance(60 * 60_000);
  await h.until(async () => (await h.store.listRuns(slow.id))[0]!.open === false);
  const run = (await h.store.listRuns(slow.id))[0]!;
  assert.equal(run.outcome, "timed_out");
  assert.match(run.error!, /ran longer than 3600s/);
  for (const pid of pids) assert.equal(pidAlive(pid), false, `pid ${pid} was stopped`);
});

Deno.test("stopping kills the whole process group, even a worker that ignores SIGTERM", async () => {
  await using h = await harness({ stubborn: agent("stubborn.sh", 'max_runtime = "1m"') });
  const task = await h.create("stubborn", "stubborn");
  await h.until(async () => {
    const runs = await h.store.listRuns(task.id);
    const workspace = runs[0]?.workspace;
    if (workspace == null) return false;
    const file = join(workspace, "grandchild.pid");
    // The shell creates the file before it writes the pid: wait for the whole line.
    return existsSync(file) && readFileSync(file, "utf8").endsWith("\n");
  });
  const run = (await h.store.listRuns(task.id))[0]!;
  const grandchild = Number(readFileSync(join(run.workspace!, "grandchild.pid"), "utf8"));
  assert.ok(grandchild > 0 && pidAlive(grandchild), `grandchild ${grandchild} runs`);
  h.clock.advance(2 * 60_000);
  await h.until(async () => (await h.store.listRuns(task.id))[0]!.open === false);
  assert.equal((await h.store.listRuns(task.id))[0]!.outcome, "timed_out");
  assert.equal(pidAlive(run.pid!), false, "the worker is gone");
  assert.equal(pidAlive(grandchild), false, "its grandchild is gone too");
});

Deno.test("a grandchild left behind by a worker that completed is stopped", async () => {
  await using h = await harness({ orphaner: agent("orphaner.sh") });
  const task = await h.create("orphaner", "orphaner");
  await h.until(async () => (await h.status(task.id)) === "done" && h.dispatcher.workerCount === 0);
  const run = (await h.store.listRuns(task.id))[0]!;
  const grandchild = Number(readFileSync(join(run.workspace!, "grandchild.pid"), "utf8"));
  assert.ok(grandchild > 0, "the worker recorded its grandchild");
  assert.equal(pidAlive(grandchild), false);
  assert.equal(run.outcome, "completed");
});

Deno.test("a worker that heartbeats past its lease keeps it and is never run twice", async () => {
  await using h = await harness({ beater: agent("heartbeat.sh") }, 'lease = "1s"');
  const task = await h.create("long", "beater");
  const reports = await h.until(async () => (await h.status(task.id)) === "done");
  assert.equal((await h.store.listRuns(task.id)).length, 1, "one run only");
  assert.equal(reports.flatMap((r) => r.spawned).length, 1);
  const events = (await h.store.showTask(task.id)).events.filter((e) => e.kind === "heartbeat");
  assert.ok(events.length >= 6);
});

Deno.test("cancelling a running task stops its worker at once", async () => {
  await using h = await harness({ hanger: agent("hang.sh") });
  const task = await h.create("to cancel", "hanger");
  await h.until(async () => (await h.store.openRuns())[0]?.pid != null);
  const pid = (await h.store.openRuns())[0]!.pid!;
  await h.store.cancel(task.id, "changed my mind", { name: "alice" });
  await h.until(() => h.dispatcher.workerCount === 0);
  assert.equal(pidAlive(pid), false);
  const run = (await h.store.listRuns(task.id))[0]!;
  assert.equal(run.outcome, "cancelled");
  assert.equal(run.signal, "SIGTERM");
});

Deno.test("caps: max_workers and max_concurrent bound the workers, highest priority first", async () => {
  await using h = await harness({
    a: agent("slow.sh", "max_concurrent = 2"),
    b: agent("slow.sh", "max_concurrent = 5"),
  }, "max_workers = 3");
  for (let i = 0; i < 4; i++) await h.create(`a${i}`, "a", { priority: i });
  for (let i = 0; i < 4; i++) await h.create(`b${i}`, "b");
  const [first] = await h.until(async () => (await h.store.openRuns()).length === 3);
  const open = await h.store.openRuns();
  assert.equal(open.filter((r) => r.profile === "a").length, 2);
  const titles = await Promise.all(open.map(async (r) => (await h.store.getTask(r.task_id)).title));
  assert.ok(titles.includes("a3") && titles.includes("a2"), `highest priority first: ${titles}`);
  assert.ok(first!.capped.some((c) => c.profile === "a"));
  writeFileSync(join(h.home, "release"), "");
  await h.until(async () => (await h.store.stats()).by_status.done === 8, 30_000);
});

Deno.test("a task whose assignee has no profile is reported, not spawned", async () => {
  await using h = await harness({ coder: agent("complete.sh") });
  const ghost = await h.create("haunted", "ghost");
  const [report] = await h.until(() => true);
  assert.deepEqual(report!.missing_profiles, [{ assignee: "ghost", ready: 1 }]);
  assert.equal(await h.status(ghost.id), "ready");
  assert.equal(report!.spawned.length, 0);
});

Deno.test("a missing command is a counted spawn failure", async () => {
  await using h = await harness({ broken: 'command = ["/nonexistent/agent"]' });
  const task = await h.create("broken", "broken");
  const [report] = await h.until(() => true);
  assert.equal(report!.spawn_failed.length, 1);
  assert.match(report!.spawn_failed[0]!.error, /cannot start \/nonexistent\/agent/);
  const t = await h.store.getTask(task.id);
  assert.equal(t.consecutive_failures, 1);
  assert.equal((await h.store.listRuns(task.id))[0]!.outcome, "spawn_failed");
});

Deno.test("dry run reports what it would start and changes nothing at all", async () => {
  await using h = await harness({ coder: agent("complete.sh") });
  const task = await h.create("x", "coder");
  await h.create("y", "nobody");
  const snapshot = async () =>
    JSON.stringify([
      await h.store.listTasks(),
      await h.store.dispatchers(),
      await h.store.eventHead(),
      await h.store.listRuns(),
    ]);
  const before = await snapshot();
  const report = await h.newDispatcher("dry", { dryRun: true }).runOnce();
  assert.equal(report.dry_run, true);
  assert.deepEqual(report.would_spawn.map((s) => s.task), [task.id]);
  assert.deepEqual(report.missing_profiles, [{ assignee: "nobody", ready: 1 }]);
  assert.equal(await snapshot(), before);
});

Deno.test("the dispatcher delivers notifications of the work it runs, in order", async () => {
  await using h = await harness({ coder: agent("complete.sh") });
  const out = join(h.home, "events.jsonl");
  await h.store.addSubscription({ kind: "command", target: `cat >> ${out}; echo >> ${out}` }, {
    name: "alice",
  });
  const task = await h.create("notify me", "coder");
  await h.until(() =>
    existsSync(out) &&
    readFileSync(out, "utf8").split("\n").some((l) => l.includes('"kind":"exited"'))
  );
  const kinds = readFileSync(out, "utf8").split("\n").filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as { event: { kind: string; task_id: string } })
    .filter((n) => n.event.task_id === task.id).map((n) => n.event.kind);
  assert.deepEqual(kinds.slice(0, 3), ["created", "claimed", "spawned"]);
  // The worker reports, then exits; the dispatcher reaps it and records its exit status.
  assert.deepEqual(kinds.slice(-2), ["completed", "exited"]);
});

Deno.test("config.toml's backoff and failure_limit govern retries, not the store's defaults", async () => {
  await using h = await harness(
    { crasher: agent("crash.sh"), once: agent("crash.sh") },
    'backoff = "7s"\nmax_backoff = "1m"\nfailure_limit = 2',
  );
  const task = await h.create("crashes", "crasher");
  await h.until(async () => (await h.store.listRuns(task.id))[0]?.open === false);
  const run = (await h.store.listRuns(task.id))[0]!;
  const t = await h.store.getTask(task.id);
  const backoff = Date.parse(t.retry_after!) - Date.parse(run.ended_at!);
  assert.ok(backoff >= 7_000 && backoff < 7_100, `backoff ${backoff} ms`); // the clock runs
  h.clock.advance(7_000);
  await h.until(async () => (await h.status(task.id)) === "blocked");
  assert.match((await h.store.getTask(task.id)).blocked_reason!, /^2 consecutive failed attempts/);
});

Deno.test("the loop wakes on every worker exit: a chain under a cap of one never waits for the poll timer", async () => {
  await using h = await harness({ coder: agent("complete.sh") }, 'poll_interval = "30s"');
  const first = await h.create("one", "coder");
  let last = first;
  for (const title of ["two", "three", "four"]) {
    last = await h.create(title, "coder", { parents: [last.id] });
  }
  const stop = new AbortController();
  const loop = h.dispatcher.run(stop.signal);
  const started = Date.now();
  while ((await h.status(last.id)) !== "done") {
    assert.ok(Date.now() - started < 20_000, "the chain finished long before a 30 s poll");
    await new Promise((r) => setTimeout(r, 50));
  }
  stop.abort();
  await loop;
  assert.ok(Date.now() - started < 20_000);
});

Deno.test("a write on the dispatcher's own connection (a server sharing it) wakes the loop at once", async () => {
  await using h = await harness(
    { coder: agent("complete.sh") },
    'poll_interval = "30s"\ndispatcher_lease = "90s"',
  );
  const stop = new AbortController();
  let passes = 0;
  const loop = h.dispatcher.run(stop.signal, () => passes++);
  try {
    for (let i = 0; i < 100 && passes === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(passes > 0, "the first pass ran");
    await new Promise((r) => setTimeout(r, 100)); // the loop now waits for its 30 s timer
    const task = await h.create("made on the dispatcher's connection", "coder");
    const started = Date.now();
    while ((await h.status(task.id)) === "ready") {
      assert.ok(Date.now() - started < 5_000, "claimed long before the 30 s timer");
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    stop.abort();
    await loop;
  }
});
