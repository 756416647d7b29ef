/**
 * The dispatcher as a real process (the compiled binary): kill -9 and restart, a standby
 * taking over, and SIGTERM handling.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { join } from "node:path";
import { openStore, type Store } from "../../lib/store/mod.ts";
import { BINARY } from "../e2e/_binary.ts";
import { MACHINE_OFF, tempDir } from "../_setup.ts";
import { AGENTS, assertOneWorkerPerTask, pidAlive } from "./_harness.ts";

interface Env extends Disposable {
  home: string;
  env: Record<string, string>;
  store: Store;
  start(
    ...args: string[]
  ): ChildProcess & { output: () => string; signal: (s: NodeJS.Signals) => void };
  release(): void;
}

function setup(dispatch = "", profiles = ""): Env {
  const tmp = tempDir("kanban-restart-");
  const env = {
    HOME: tmp.dir,
    KANBAN_HOME: tmp.dir,
    PATH: "/usr/bin:/bin",
    RELEASE_FILE: join(tmp.dir, "release"),
  };
  writeFileSync(
    join(tmp.dir, "config.toml"),
    `[dispatch]\n${MACHINE_OFF}poll_interval = "1s"\ndispatcher_lease = "2s"\nstop_grace = "1s"\n${dispatch}\n` +
      `[profiles.slow]\ncommand = ["${join(AGENTS, "slow.sh")}"]\nmax_concurrent = 4\n${profiles}`,
  );
  const store = openStore(join(tmp.dir, "boards", "default", "board.db"), { create: true });
  const children: ChildProcess[] = [];
  return {
    home: tmp.dir,
    env,
    store,
    start: (...args) => {
      const child = spawn(BINARY, ["dispatch", ...args], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      children.push(child);
      // Deno's ChildProcess.kill() does not deliver a catchable SIGTERM the way kill(2) does;
      // signal the pid directly, as systemd or a shell would.
      return Object.assign(child, {
        output: () => out,
        signal: (sig: NodeJS.Signals) => process.kill(child.pid!, sig),
      });
    },
    release: () => writeFileSync(env.RELEASE_FILE, ""),
    [Symbol.dispose]: () => {
      for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
      writeFileSync(env.RELEASE_FILE, "");
      store.close();
      tmp[Symbol.dispose]();
    },
  };
}

async function until(what: string, done: () => Promise<boolean> | boolean, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    assertOneWorkerPerTask();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const exited = (c: ChildProcess) =>
  new Promise<number | null>((r) =>
    c.exitCode !== null ? r(c.exitCode) : c.once("exit", (code) => r(code))
  );

Deno.test("after kill -9 of the dispatcher, a new one adopts the live workers and records their outcomes", async () => {
  using e = setup();
  const ids = [];
  for (let i = 0; i < 3; i++) {
    ids.push(
      (await e.store.createTask({ title: `job ${i}`, assignee: "slow" }, { name: "t" })).task.id,
    );
  }
  const first = e.start();
  await until(
    "3 workers",
    async () => (await e.store.openRuns()).filter((r) => r.pid !== null).length === 3,
  );
  const pids = (await e.store.openRuns()).map((r) => r.pid!);
  first.signal("SIGKILL");
  await exited(first);
  for (const pid of pids) assert.ok(pidAlive(pid), "workers survive their dispatcher");
  const second = e.start();
  await until("adoption", () => /adopted run/.test(second.output()));
  assert.equal((await e.store.openRuns()).length, 3, "no run was ended or duplicated");
  assertOneWorkerPerTask();
  e.release();
  await until("all done", async () => (await e.store.stats()).by_status.done === 3);
  for (const id of ids) {
    const runs = await e.store.listRuns(id);
    assert.equal(runs.length, 1, `task ${id} ran once`);
    assert.equal(runs[0]!.outcome, "completed");
  }
  second.signal("SIGTERM");
  assert.equal(await exited(second), 0);
});

/**
 * guardsOf lists the pids of the lease guards (lib/dispatch/guard.ts) watching run `runId` of
 * the board under `home` (only those watching process group `pg`, when given). Run ids are per
 * board: tests running beside this one have guards of their own run 1, so a guard is recognised
 * by its deadline file too.
 */
function guardsOf(home: string, runId: number, pg?: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
      const ours = argv[3] === "kanban-guard" && argv[5]?.startsWith(`${home}/`) &&
        argv[10] === String(runId) && (pg === undefined || argv[4] === String(pg));
      if (ours && pidAlive(Number(name))) {
        pids.push(Number(name));
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

Deno.test("a worker whose dispatcher died alone is stopped by its lease guard before its lease can expire", async () => {
  using e = setup(`lease = "6s"\nbackoff = "1s"`);
  const task = (await e.store.createTask({ title: "orphan", assignee: "slow" }, { name: "t" }))
    .task;
  const first = e.start();
  await until("a worker", async () => (await e.store.openRuns())[0]?.pid != null);
  const started = (await e.store.openRuns())[0]!;
  await until("its guard", () => guardsOf(e.home, started.id).length === 1);
  first.signal("SIGKILL");
  await exited(first);
  assert.ok(pidAlive(started.pid!), "the worker outlives its dispatcher");
  const run = (await e.store.openRuns())[0]!; // its last renewal is the one before the kill
  const expires = Date.parse(run.lease_expires!);
  await until("the guard stops the worker", () => !pidAlive(started.pid!), 10_000);
  const stoppedAt = Date.now();
  assert.ok(
    stoppedAt < expires,
    `stopped ${stoppedAt - expires} ms after its lease expired, should be before`,
  );
  await until("the guard exits", () => guardsOf(e.home, run.id).length === 0, 5_000);
  const log = readFileSync(run.log_path!, "utf8");
  assert.match(log, new RegExp(`kanban guard: run ${run.id}'s lease was not renewed in time`));

  // The next dispatcher finds the run's worker gone, ends the run, and runs the task again.
  const second = e.start();
  await until("a second run", async () => (await e.store.listRuns(task.id)).length === 2);
  e.release();
  await until("done", async () => (await e.store.getTask(task.id)).status === "done");
  const ended = (await e.store.listRuns(task.id)).find((r) => r.id === run.id)!;
  assert.equal(ended.outcome, "lost", "not the worker's crash");
  assert.match(ended.error ?? "", /lease guard stopped the worker/);
  second.signal("SIGTERM");
  assert.equal(await exited(second), 0);
});

Deno.test("a completion gate whose dispatcher died alone is stopped by a lease guard before the run's lease can expire", async () => {
  using e = setup(
    `lease = "6s"\nbackoff = "1s"`,
    `[profiles.gated]\ncommand = ["${join(AGENTS, "gated.sh")}"]\n` +
      `gate = ["${join(AGENTS, "gate.sh")}", "{task}"]\nenv = { GATE_SLEEP = "600" }\n`,
  );
  const task = (await e.store.createTask({ title: "gated", assignee: "gated" }, { name: "t" }))
    .task;
  const first = e.start();
  let ws = "";
  await until("its gate", async () => {
    ws = (await e.store.listRuns(task.id))[0]?.workspace ?? "";
    return ws !== "" && existsSync(join(ws, "gate-pid"));
  });
  const gate = Number(readFileSync(join(ws, "gate-pid"), "utf8"));
  const [run] = await e.store.listRuns(task.id);
  assert.equal(run!.gate_pending, true);
  await until("the gate's guard", () => guardsOf(e.home, run!.id, gate).length === 1);
  first.signal("SIGKILL");
  await exited(first);
  assert.ok(pidAlive(gate), "the gate outlives its dispatcher");
  const expires = Date.parse((await e.store.getRun(run!.id)).lease_expires!);
  await until("the guard stops the gate", () => !pidAlive(gate), 10_000);
  const stoppedAt = Date.now();
  assert.ok(
    stoppedAt < expires,
    `stopped ${stoppedAt - expires} ms after its lease expired, should be before`,
  );
  assert.equal(existsSync(join(ws, "gate-finished")), false, "the gate did not run to its end");
  await until("the guard exits", () => guardsOf(e.home, run!.id).length === 0, 5_000);
  assert.match(
    readFileSync(run!.log_path!, "utf8"),
    new RegExp(
      `kanban guard: run ${run!.id}'s lease was not renewed in time .*; stopping the ` +
        `completion gate \\(process group ${gate}\\)`,
    ),
  );

  // The next dispatcher ends the run, saying why; the task is tried again, not done.
  const second = e.start("--stop-workers");
  await until("the run ended", async () => !(await e.store.getRun(run!.id)).open);
  const ended = await e.store.getRun(run!.id);
  assert.equal(ended.outcome, "lost");
  assert.match(ended.error ?? "", /lease guard stopped its completion gate/);
  assert.notEqual((await e.store.getTask(task.id)).status, "done");
  second.signal("SIGTERM");
  assert.equal(await exited(second), 0);
});

Deno.test("a dispatcher restarted within the lease keeps the worker: its guard follows the new renewals", async () => {
  using e = setup(`lease = "9s"`);
  const task = (await e.store.createTask({ title: "kept", assignee: "slow" }, { name: "t" }))
    .task;
  const first = e.start();
  await until("a worker", async () => (await e.store.openRuns())[0]?.pid != null);
  const run = (await e.store.openRuns())[0]!;
  await until("its guard", () => guardsOf(e.home, run.id).length === 1);
  const [oldGuard] = guardsOf(e.home, run.id);
  first.signal("SIGKILL");
  await exited(first);
  const killedAt = Date.now();
  const second = e.start();
  await until("adoption", () => /adopted run/.test(second.output()));
  // The first guard hands over to the second dispatcher's, and the worker lives on past the
  // lease the first dispatcher gave it.
  await until("one guard, the new one", () => {
    const now = guardsOf(e.home, run.id);
    return now.length === 1 && now[0] !== oldGuard;
  });
  await new Promise((r) => setTimeout(r, Math.max(0, killedAt + 11_000 - Date.now())));
  assert.ok(pidAlive(run.pid!), "the adopted worker still runs after the first lease ran out");
  e.release();
  await until("done", async () => (await e.store.getTask(task.id)).status === "done");
  assert.equal((await e.store.listRuns(task.id)).length, 1, "the task ran once");
  await until(
    "the guard exits with its worker",
    () => guardsOf(e.home, run.id).length === 0,
    5_000,
  );
  second.signal("SIGTERM");
  assert.equal(await exited(second), 0);
});

Deno.test("a second dispatcher stands by and takes over within one lease period when the first dies", async () => {
  using e = setup();
  const first = e.start();
  await until("first active", async () => (await e.store.dispatchers()).some((d) => d.active));
  const second = e.start();
  await until("second seen", async () => (await e.store.dispatchers()).length === 2);
  const active = (await e.store.dispatchers()).filter((d) => d.active);
  assert.equal(active.length, 1);
  const firstId = active[0]!.id;
  first.signal("SIGKILL");
  const killedAt = Date.now();
  await until(
    "takeover",
    async () => (await e.store.dispatchers()).some((d) => d.active && d.id !== firstId),
  );
  assert.ok(Date.now() - killedAt < 2_000 + 1_500, `took over in ${Date.now() - killedAt} ms`);
  await e.store.createTask({ title: "after takeover", assignee: "slow" }, { name: "t" });
  await until(
    "new dispatcher runs work",
    async () => (await e.store.openRuns()).some((r) => r.pid !== null),
  );
  e.release();
  second.signal("SIGTERM");
  assert.equal(await exited(second), 0);
});

Deno.test("SIGTERM waits for running workers; with --stop-workers it stops them and the task is retried", async () => {
  using e = setup();
  const task = (await e.store.createTask({ title: "long", assignee: "slow" }, { name: "t" })).task;
  const d = e.start("--stop-workers");
  await until("worker", async () => (await e.store.openRuns())[0]?.pid != null);
  const pid = (await e.store.openRuns())[0]!.pid!;
  d.signal("SIGTERM");
  assert.equal(await exited(d), 0);
  assert.equal(pidAlive(pid), false);
  const run = (await e.store.listRuns(task.id))[0]!;
  assert.equal(run.outcome, "stopped");
  const t = await e.store.getTask(task.id);
  assert.equal(t.status, "ready");
  assert.equal(t.consecutive_failures, 0, "a shutdown is not the worker's failure");

  const d2 = e.start();
  await until("worker again", async () => (await e.store.openRuns())[0]?.pid != null);
  d2.signal("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(d2.exitCode, null, "still waiting for its worker");
  e.release();
  assert.equal(await exited(d2), 0);
  assert.equal((await e.store.getTask(task.id)).status, "done");
});
