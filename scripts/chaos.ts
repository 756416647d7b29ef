/**
 * scripts/chaos.ts: a bounded chaos run against real processes. Two `dist/kanban dispatch`
 * processes share a board whose agent behaves at random (completes, crashes, hangs, exits
 * without reporting, rate-limits, heartbeats), while this script creates tasks and, at
 * random, kill -9s workers and the active dispatcher (and starts a new one), SIGSTOPs
 * workers, replays stale workers' writes with tokens of ended runs, and for a moment makes
 * the board read-only. It asserts throughout that no task ever has live workers of two runs
 * and that no stale write takes effect; at the end, after the dispatchers drain, that every
 * run ended with an outcome, no task was lost, and `kanban doctor` passes.
 *
 * Two more faults on request: `--kill-spawn` creates bursts of tasks and kill -9s the active
 * dispatcher at a random instant (0-250 ms) after it starts a worker, in the middle of its
 * spawns; `--clock-step` runs the dispatchers under libfaketime (Debian's `faketime`) and steps
 * their wall clock by hours, ahead and back, while the monotonic clock runs on.
 *
 *   deno task chaos                                 60 s
 *   deno task chaos --seconds 10                    a short run (CI runs one as a test)
 *   deno task chaos --kill-spawn --clock-step       with both extra faults
 *
 * Prints the counts; exits 1 when an assertion failed.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { DatabaseSync } from "node:sqlite";
import { openStore } from "../lib/store/mod.ts";
import { AGENT, BIN, liveRunsByTask, pick, ROOT, signal, sleep, verdict } from "./_chaos.ts";
import { chaosHosts, hostsFailures } from "./chaos_hosts.ts";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const SECONDS = arg("--seconds", 60);
/** libfaketime as Debian's `faketime` package installs it (scripts/setup --faults), or null. */
export const LIBFAKETIME: string | null = [
  "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
  "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
].find((p) => existsSync(p)) ?? null;

/** The extra faults of a chaos run. */
export interface ChaosModes {
  /** kill -9 the active dispatcher in the middle of a burst of spawns. */
  killSpawn?: boolean;
  /** step the dispatchers' wall clock by hours (libfaketime). */
  clockStep?: boolean;
}

export interface ChaosCounts {
  tasks: number;
  worker_kills: number;
  dispatcher_kills: number;
  dispatchers_started: number;
  sigstops: number;
  stale_writes: number;
  stale_writes_accepted: number;
  read_only_spells: number;
  runs: number;
  retries: number;
  outcomes: Record<string, number>;
  statuses: Record<string, number>;
  duplicates: number;
  /** Distinct tasks ever seen with live workers of two runs at once. */
  tasks_with_two_live_workers: number;
  spawn_kills: number;
  clock_steps: number;
  open_runs_at_end: number;
  runs_without_outcome: number;
  lost_tasks: number;
  doctor_ok: boolean;
}

export async function chaos(
  seconds: number,
  log = (s: string) => console.error(s),
  modes: ChaosModes = {},
): Promise<ChaosCounts> {
  if (!existsSync(BIN)) throw new Error("dist/kanban is missing: run scripts/build");
  if (modes.clockStep && LIBFAKETIME === null) {
    throw new Error("--clock-step needs libfaketime: scripts/setup --faults");
  }
  const home = mkdtempSync(join(tmpdir(), "kanban-chaos-"));
  const env = { PATH: "/usr/bin:/bin", HOME: home, KANBAN_HOME: home };
  // The dispatchers' wall clock, as an offset libfaketime reads on every call.
  const stamp = join(home, "faketime");
  let offsetHours = 0;
  writeFileSync(stamp, "+0");
  const dispatcherEnv = modes.clockStep
    ? {
      ...env,
      LD_PRELOAD: LIBFAKETIME!,
      FAKETIME_TIMESTAMP_FILE: stamp,
      FAKETIME_NO_CACHE: "1",
      FAKETIME_DONT_FAKE_MONOTONIC: "1",
    }
    : env;
  const boardPath = join(home, "boards", "default", "board.db");
  chmodSync(AGENT, 0o755);
  writeFileSync(
    join(home, "config.toml"),
    `[dispatch]
max_workers = 6
# the run's own load must not hold its workers (lib/dispatch/pressure.ts)
max_load = 0
min_free_memory = 0
poll_interval = "1s"
lease = "3s"
dispatcher_lease = "2s"
stop_grace = "1s"
stall_timeout = "4s"
max_runtime = "6s"
exit_grace = "1s"
backoff = "1s"
max_backoff = "2s"
failure_limit = 4
[profiles.chaos]
command = ["${AGENT}"]
max_concurrent = 6
`,
  );
  const store = openStore(boardPath, { create: true });
  const raw = new DatabaseSync(boardPath, { readOnly: true });
  const c: ChaosCounts = {
    tasks: 0,
    worker_kills: 0,
    dispatcher_kills: 0,
    dispatchers_started: 0,
    sigstops: 0,
    stale_writes: 0,
    stale_writes_accepted: 0,
    read_only_spells: 0,
    runs: 0,
    retries: 0,
    outcomes: {},
    statuses: {},
    duplicates: 0,
    tasks_with_two_live_workers: 0,
    spawn_kills: 0,
    clock_steps: 0,
    open_runs_at_end: 0,
    runs_without_outcome: 0,
    lost_tasks: 0,
    doctor_ok: false,
  };
  const dispatchers: ChildProcess[] = [];
  /** When each dispatcher last logged that it started a worker. */
  const startedAt = new Map<ChildProcess, number>();
  const startDispatcher = () => {
    const d = spawn(BIN, ["dispatch"], {
      env: dispatcherEnv,
      stdio: ["ignore", "ignore", "pipe"],
    });
    d.stderr!.on("data", (chunk) => {
      if (/started/.test(String(chunk))) startedAt.set(d, Date.now());
    });
    dispatchers.push(d);
    c.dispatchers_started++;
  };
  const duplicateTasks = new Set<string>();
  const alive = () => dispatchers.filter((d) => d.exitCode === null && d.signalCode === null);
  const stopped = new Map<number, number>(); // pid -> when to continue it
  try {
    startDispatcher();
    startDispatcher();
    const deadline = Date.now() + seconds * 1000;
    let parent: string | null = null as string | null;
    while (Date.now() < deadline) {
      await sleep(50);
      for (const [task, runs] of liveRunsByTask()) {
        if (runs.size > 1) {
          c.duplicates++;
          duplicateTasks.add(task);
          log(`DUPLICATE: task ${task} has live workers of runs ${[...runs].join(", ")}`);
        }
      }
      for (const [pid, at] of stopped) {
        if (Date.now() >= at) {
          signal(pid, "SIGCONT");
          stopped.delete(pid);
        }
      }
      let roll = Math.random();
      // a short run still gets each fault it asked for: from a third of the way on, the first
      // one is forced
      const along = 1 - (deadline - Date.now()) / (seconds * 1000);
      if (along > 0.33 && modes.killSpawn && c.spawn_kills === 0) roll = 0.38;
      else if (along > 0.5 && modes.clockStep && c.clock_steps === 0) roll = 0.387;
      else if (along > 0.6 && c.stale_writes === 0) roll = 0.35;
      if (roll < 0.25 && c.tasks < seconds * 4) {
        const chained: boolean = parent !== null && Math.random() < 0.2;
        const created = await store.createTask({
          title: `chaos ${c.tasks}`,
          assignee: "chaos",
          ...(chained ? { parents: [parent!] } : {}),
        }, { name: "chaos" });
        parent = created.task.id;
        c.tasks++;
      } else if (roll < 0.29) {
        const run = pick((await store.openRuns()).filter((r) => r.pid !== null));
        if (run && signal(run.pid!, "SIGKILL")) c.worker_kills++;
      } else if (roll < 0.31) {
        const run = pick((await store.openRuns()).filter((r) => r.pid !== null));
        if (run && !stopped.has(run.pid!) && signal(run.pid!, "SIGSTOP")) {
          stopped.set(run.pid!, Date.now() + 500 + Math.random() * 5_000);
          c.sigstops++;
        }
      } else if (roll < 0.32) {
        const active = (await store.dispatchers()).find((d) => d.active);
        if (active && signal(active.pid, "SIGKILL")) c.dispatcher_kills++;
        await sleep(20);
        while (alive().length < 2) startDispatcher();
      } else if (roll < 0.37) {
        // A stale worker: the token of a run that has ended, used as its worker would.
        const row = raw.prepare(
          `SELECT r.task_id, r.lease_token, t.status, t.updated_at, t.current_run_id
           FROM task_runs r JOIN tasks t ON t.id = r.task_id
           WHERE r.ended_at IS NOT NULL ORDER BY random() LIMIT 1`,
        ).get() as { task_id: string; lease_token: string } | undefined;
        if (row) {
          const before = raw.prepare("SELECT * FROM tasks WHERE id = ?").get(row.task_id);
          const r = spawnSync(BIN, ["complete", "--summary", "stale write"], {
            env: {
              ...env,
              KANBAN_DB: boardPath,
              KANBAN_TASK: row.task_id,
              KANBAN_TOKEN: row.lease_token,
            },
            encoding: "utf8",
          });
          c.stale_writes++;
          const after = raw.prepare("SELECT * FROM tasks WHERE id = ?").get(row.task_id) as Record<
            string,
            unknown
          >;
          const summaries = raw.prepare(
            "SELECT count(*) AS n FROM task_runs WHERE task_id = ? AND summary = 'stale write'",
          ).get(row.task_id) as { n: number };
          if (r.status === 0 || summaries.n > 0) {
            c.stale_writes_accepted++;
            log(`STALE WRITE ACCEPTED on ${row.task_id}: ${r.stdout}${r.stderr}`);
          }
          // The task may change meanwhile by legitimate writers; only our write is checked.
          void before;
          void after;
        }
      } else if (modes.killSpawn && roll < 0.385) {
        // A burst of tasks, and the active dispatcher killed in the middle of its spawns.
        const active = (await store.dispatchers()).find((d) => d.active);
        const proc = dispatchers.find((d) => d.pid === active?.pid);
        if (proc) {
          const before = Date.now();
          for (let i = 0; i < 6; i++) {
            await store.createTask({ title: `burst ${c.tasks}`, assignee: "chaos" }, {
              name: "chaos",
            });
            c.tasks++;
          }
          const until = Date.now() + 2_000;
          while ((startedAt.get(proc) ?? 0) < before && Date.now() < until) await sleep(5);
          await sleep(Math.random() * 250);
          if (signal(proc.pid!, "SIGKILL")) c.spawn_kills++;
          await sleep(20);
          while (alive().length < 2) startDispatcher();
        }
      } else if (modes.clockStep && roll < 0.39) {
        // An NTP correction or a VM resumed: hours ahead, or back towards the true time.
        offsetHours += offsetHours > 0 ? -3 : 3;
        writeFileSync(stamp, `${offsetHours >= 0 ? "+" : ""}${offsetHours}h`);
        c.clock_steps++;
      } else if (roll < 0.375) {
        // The board turns read-only for a moment: passes fail, the dispatchers must survive.
        chmodSync(boardPath, 0o444);
        c.read_only_spells++;
        await sleep(300 + Math.random() * 700);
        chmodSync(boardPath, 0o644);
      }
    }
    c.tasks_with_two_live_workers = duplicateTasks.size;
    log("chaos: draining (SIGTERM to the dispatchers)");
    for (const [pid] of stopped) signal(pid, "SIGCONT");
    stopped.clear();
    const drain = async (ms: number) => {
      const until = Date.now() + ms;
      while (alive().length > 0 && Date.now() < until) await sleep(100);
      for (const d of alive()) {
        log(`dispatcher ${d.pid} did not exit in ${ms} ms: SIGKILL`);
        signal(d.pid!, "SIGKILL");
      }
    };
    for (const d of alive()) signal(d.pid!, "SIGTERM");
    await drain(20_000);
    // A last dispatcher adopts whatever still runs (workers of killed dispatchers), stops it
    // on SIGTERM, and ends every run it can account for.
    const last = spawn(BIN, ["dispatch", "--stop-workers"], {
      env: dispatcherEnv,
      stdio: "ignore",
    });
    dispatchers.push(last);
    // It takes the board over only once the lease of a dispatcher killed above has run out
    // (dispatcher_lease, watched on its own clock), and adopts in the passes after that: a
    // fixed wait was too short on a loaded machine, and a run stayed open. Bounded.
    const holds = () =>
      (raw.prepare("SELECT count(*) AS n FROM dispatchers WHERE pid = ? AND active = 1")
        .get(last.pid!) as { n: number }).n > 0;
    const by = Date.now() + 20_000;
    while (!holds() && Date.now() < by) await sleep(100);
    if (!holds()) log(`the last dispatcher ${last.pid} did not take the board in 20 s`);
    await sleep(3_000); // two passes of poll_interval and more: adoption, reaping
    signal(last.pid!, "SIGTERM");
    await drain(15_000);
    const q = (sql: string) => (raw.prepare(sql).get() as { n: number }).n;
    c.runs = q("SELECT count(*) AS n FROM task_runs");
    c.retries = q("SELECT count(*) AS n FROM task_runs") -
      q("SELECT count(DISTINCT task_id) AS n FROM task_runs");
    c.open_runs_at_end = q("SELECT count(*) AS n FROM task_runs WHERE ended_at IS NULL");
    c.runs_without_outcome = q(
      "SELECT count(*) AS n FROM task_runs WHERE ended_at IS NOT NULL AND outcome IS NULL",
    );
    const group = (sql: string) =>
      Object.fromEntries(
        (raw.prepare(sql).all() as { k: string; n: number }[]).map((r) => [r.k, r.n]),
      );
    c.outcomes = group(
      "SELECT coalesce(outcome, 'open') AS k, count(*) AS n FROM task_runs GROUP BY 1",
    );
    c.statuses = group("SELECT status AS k, count(*) AS n FROM tasks GROUP BY 1");
    c.lost_tasks = c.tasks - q("SELECT count(*) AS n FROM tasks");
    const doctor = spawnSync(BIN, ["doctor"], { env, encoding: "utf8" });
    c.doctor_ok = doctor.status === 0;
    if (!c.doctor_ok) log(`doctor: ${doctor.stdout}${doctor.stderr}`);
    return c;
  } finally {
    for (const d of alive()) signal(d.pid!, "SIGKILL");
    for (const [pid] of stopped) signal(pid, "SIGCONT");
    for (const run of await store.openRuns().catch(() => [])) {
      if (run.pid) signal(-run.pid, "SIGKILL");
    }
    raw.close();
    store.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/** failures lists what a chaos run's counts say went wrong (empty when all held). */
export function failures(c: ChaosCounts): string[] {
  return verdict(c);
}

if (import.meta.main) {
  // Measure the current sources: rebuild dist/kanban when they changed.
  if (spawnSync(join(ROOT, "scripts", "build"), { stdio: "inherit" }).status !== 0) {
    throw new Error("scripts/build failed");
  }
  const hosts = arg("--hosts", 1);
  if (!Number.isInteger(hosts) || hosts < 1 || hosts > 9) {
    throw new Error("--hosts takes 1 (one host, a SQLite board) to 9");
  }
  if (
    hosts > 1 && (process.argv.includes("--kill-spawn") || process.argv.includes("--clock-step"))
  ) {
    throw new Error("--kill-spawn and --clock-step go with one host, not --hosts");
  }
  // Ctrl-C ends the faults early, and the multi-host run still removes its database cluster
  const interrupt = new AbortController();
  if (hosts > 1) {
    for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, () => interrupt.abort());
  }
  const counts = hosts > 1
    ? await chaosHosts(SECONDS, undefined, {
      hosts,
      keep: process.argv.includes("--keep"),
      signal: interrupt.signal,
    })
    : await chaos(SECONDS, undefined, {
      killSpawn: process.argv.includes("--kill-spawn"),
      clockStep: process.argv.includes("--clock-step"),
    });
  for (const [k, v] of Object.entries(counts)) {
    console.log(`${k.padEnd(28)} ${typeof v === "object" ? JSON.stringify(v) : v}`);
  }
  console.log(`tasks with two live workers: ${counts.tasks_with_two_live_workers}`);
  const bad = "hosts" in counts ? hostsFailures(counts) : failures(counts);
  if (interrupt.signal.aborted) console.log("chaos: interrupted: the counts are of a partial run");
  console.log(bad.length === 0 ? "chaos: all invariants held" : `chaos: FAILED: ${bad.join("; ")}`);
  process.exitCode = bad.length === 0 ? 0 : 1;
}
