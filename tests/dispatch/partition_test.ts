/**
 * A host cut off from a PostgreSQL board by a real network partition: two real `dist/kanban
 * dispatch` processes on one board, host `a` inside a network namespace of the test's own
 * (tests/_netns.ts), reaching PostgreSQL only through a veth pair and a forwarder, host `b` in
 * the root namespace at 127.0.0.1. `a` runs a task's worker; the test takes a's link down
 * (packets dropped, connections half-open: nothing tells `a` it is cut off) and checks that
 * `a` kills its worker before that run's lease expires on the board, that `b` then ends the
 * run and runs the task itself with never two live workers of the task at once, and that once
 * the link is up again `a` reconnects and takes nothing back: no write of `a`'s lands on the
 * task after `b` claimed it, and the task completes once, by `b`'s run.
 *
 * `b` stays in the root namespace: the partition under test is `a`'s alone, and `b` stands for
 * the rest of the fleet, which still reaches the board (as the test's own reads do). A second
 * namespace would test nothing more and would add a forwarder between `b` and the board.
 * Only the dispatchers talk TCP to PostgreSQL: on a PostgreSQL board workers reach it through
 * their dispatcher's unix socket, so cutting `a`'s namespace off cuts `a`'s workers off too.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { openStore, type Run, type Store } from "../../lib/store/mod.ts";
import { BINARY } from "../e2e/_binary.ts";
import { MACHINE_OFF, tempDir } from "../_setup.ts";
import { netns, netnsAvailable } from "../_netns.ts";
import { dropDatabase, endStore, freshDatabase, PG_URL } from "../store/postgres/_pg.ts";
import { AGENTS, liveWorkers, pidAlive } from "./_harness.ts";

const LEASE_MS = 4_000;

const skip = PG_URL === undefined
  ? "KANBAN_TEST_PG_URL unset; scripts/test starts a server"
  : netnsAvailable();

interface Host {
  child: ChildProcess;
  output(): string;
  /** stop sends SIGTERM and waits (10 s at most) for the dispatcher to exit. */
  stop(): Promise<void>;
}

/** config is host `host`'s config.toml: short leases, one profile running pidfile.sh. */
function config(host: string): string {
  return `[dispatch]\n${MACHINE_OFF}host = "${host}"\npoll_interval = "1s"\ndispatcher_lease = "2s"\n` +
    `lease = "${LEASE_MS / 1000}s"\nbackoff = "1s"\nstop_grace = "1s"\n` +
    `[profiles.work]\ncommand = ["${join(AGENTS, "pidfile.sh")}"]\n` +
    `env = { WORKER_HOST = "${host}" }\n`;
}

/** start runs `kanban dispatch` as `host`, on the board at `db`, through `run` (a spawn). */
function start(
  run: (cmd: string, args: string[], env: Record<string, string>) => ChildProcess,
  dir: string,
  host: string,
  db: string,
  shared: Record<string, string>,
): Host {
  const home = join(dir, host);
  mkdirSync(home);
  writeFileSync(join(home, "config.toml"), config(host));
  const child = run(BINARY, ["dispatch"], {
    HOME: home,
    KANBAN_HOME: home,
    KANBAN_DB: db,
    PATH: "/usr/bin:/bin",
    ...shared,
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(child.pid!, "SIGTERM");
      // (a runtime's ChildProcess may refuse a second kill(): signal the pid itself)
      const late = setTimeout(() => process.kill(child.pid!, "SIGKILL"), 10_000);
      await exited;
      clearTimeout(late);
    },
  };
}

/** liveRuns lists the runs whose workers for `task` are alive now (any host). */
function liveRuns(task: string): string[] {
  return [...(liveWorkers().get(task) ?? [])];
}

Deno.test({
  name: skip === null
    ? "a host cut off from a PostgreSQL board by a network partition kills its worker before the lease expires, and takes nothing back when it returns"
    : `a host cut off from a PostgreSQL board by a network partition (skipped: ${skip})`,
  ignore: skip !== null,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const db = await freshDatabase();
    using tmp = tempDir("kanban-partition-");
    await using ns = await netns();
    const store: Store = openStore(db.url);
    const out = join(tmp.dir, "out");
    mkdirSync(out);
    const release = join(tmp.dir, "release");
    const shared = { OUT: out, RELEASE_FILE: release };
    const hosts: Host[] = [];
    const log: string[] = [];
    const note = (line: string) => log.push(`${new Date().toISOString()} ${line}`);
    try {
      const pg = new URL(db.url);
      const viaNs = new URL(db.url);
      viaNs.hostname = ns.hostAddress;
      viaNs.port = String(await ns.forward(Number(pg.port)));
      const { task } = await store.createTask({ title: "partitioned", assignee: "work" }, {
        name: "tester",
      });

      /** Polls `done` every 50 ms (at most `ms`), checking there is never a second worker. */
      const until = async (what: string, done: () => Promise<boolean> | boolean, ms = 20_000) => {
        const deadline = Date.now() + ms;
        while (!(await done())) {
          const live = liveRuns(task.id);
          assert.ok(live.length <= 1, `task ${task.id} has live workers of runs ${live}`);
          if (Date.now() > deadline) {
            throw new Error(`timed out after ${ms} ms waiting for ${what}`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        note(what);
      };
      const runOf = async (host: string): Promise<Run | undefined> =>
        (await store.listRuns(task.id)).find((r) => r.host === host);
      const pidOf = (run: Run): number | null => {
        const file = join(out, `${run.id}.pid`);
        return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : null;
      };

      // host a, alone at first: it claims the task, inside the namespace
      const a = start(
        (cmd, args, env) => ns.spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] }),
        tmp.dir,
        "a",
        viaNs.toString(),
        shared,
      );
      hosts.push(a);
      let runA: Run | undefined;
      let pidA: number | null = null;
      await until("a's worker running", async () => {
        runA = await runOf("a");
        pidA = runA === undefined ? null : pidOf(runA);
        return pidA !== null && pidAlive(pidA);
      });
      // host b, at 127.0.0.1: the rest of the fleet, which still reaches the board
      const b = start(
        (cmd, args, env) => spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] }),
        tmp.dir,
        "b",
        db.url,
        shared,
      );
      hosts.push(b);
      await until(
        "b dispatching",
        async () =>
          (await store.dispatchers()).some((d) =>
            d.host === "b" && d.lease_expires !== null && Date.parse(d.lease_expires) > Date.now()
          ),
      );

      // (a) the partition: a must kill its worker before the run's lease expires on the board
      ns.cut();
      const cutAt = Date.now();
      note("cut");
      let deadAt = 0;
      await until("a's worker killed", () => {
        if (pidAlive(pidA!)) return false;
        deadAt = Date.now();
        return true;
      }, 3 * LEASE_MS);
      const atDeath = (await store.listRuns(task.id)).find((r) => r.id === runA!.id)!;
      assert.equal(atDeath.open, true, "the run was ended before a's worker died");
      const expires = Date.parse(atDeath.lease_expires!);
      note(`a's run's lease expires at ${atDeath.lease_expires}`);
      assert.ok(
        deadAt <= expires,
        `a's worker lived until ${new Date(deadAt).toISOString()}, past its lease's expiry ` +
          `${atDeath.lease_expires} (cut at ${new Date(cutAt).toISOString()})`,
      );
      assert.ok(expires - cutAt <= LEASE_MS, "no renewal of a's reached the board after the cut");

      // (b) b ends a's run once its lease expired, and runs the task itself
      let runB: Run | undefined;
      await until("b's worker running", async () => {
        runB = await runOf("b");
        const pid = runB === undefined ? null : pidOf(runB);
        return pid !== null && pidAlive(pid);
      });
      const lost = (await store.listRuns(task.id)).find((r) => r.id === runA!.id)!;
      assert.equal(lost.outcome, "lost");
      assert.ok(Date.parse(lost.ended_at!) >= expires, "ended only once its lease had expired");
      const claimedByB = (await store.eventsSince(0)).find((e) =>
        e.task_id === task.id && e.kind === "claimed" && e.run_id === runB!.id
      );
      assert.ok(claimedByB, "b's claim event");

      // (c) the link comes back: a reconnects, finds its run ended elsewhere, and leaves it
      ns.heal();
      const healAt = Date.now();
      note("healed");
      await until(
        "a back on the board",
        async () =>
          (await store.dispatchers()).some((d) =>
            d.host === "a" && Date.parse(d.last_tick) > healAt
          ) && /was ended elsewhere \(lost\); left as is/.test(a.output()),
        30_000,
      );
      writeFileSync(release, "");
      await until("the task done", async () => (await store.getTask(task.id)).status === "done");
      // a few of a's passes more: none of them may write to the task
      const doneAt = Date.now();
      await until(
        "two more of a's passes",
        async () =>
          (await store.dispatchers()).some((d) =>
            d.host === "a" && Date.parse(d.last_tick) > doneAt + 1_000
          ),
      );

      const runs = await store.listRuns(task.id);
      assert.deepEqual(
        runs.map((r) => [r.host, r.outcome]).sort(),
        [["a", "lost"], ["b", "completed"]],
        "one run each: a's lost, b's completed",
      );
      const final = await store.getTask(task.id);
      assert.equal(final.status, "done");
      assert.equal(runs.find((r) => r.host === "b")!.summary, "done on b");
      const aEnd = runs.find((r) => r.host === "a")!;
      assert.equal(aEnd.exit_code, null, "a wrote its worker's exit status to a run not its own");
      const events = (await store.eventsSince(0)).filter((e) => e.task_id === task.id);
      assert.deepEqual(
        events.filter((e) => e.kind === "completed").map((e) => e.run_id),
        [runB!.id],
        "completed once, by b's run",
      );
      const stale = events.filter((e) => e.id > claimedByB.id && e.run_id !== runB!.id);
      assert.deepEqual(stale, [], "events of another run after b's claim");
    } catch (err) {
      console.error(
        `--- test log\n${log.join("\n")}\n` +
          hosts.map((h, i) => `--- host ${"ab"[i]}\n${h.output()}`).join("\n"),
      );
      throw err;
    } finally {
      ns.heal(); // a dispatcher stuck on a half-open connection drains once it is back
      writeFileSync(release, "");
      await Promise.all(hosts.map((h) => h.stop()));
      await endStore(store);
      await dropDatabase(db.name);
    }
  },
});
