/**
 * scripts/chaos_hosts.ts: the chaos harness's multi-host mode (`deno task chaos --hosts 3`).
 * It starts a PostgreSQL cluster of its own (scripts/pg, in a temporary folder: stopped and
 * removed at the end, whatever happens), makes a board there, and runs one `dist/kanban
 * dispatch` per host, all at once: h1, h2, h3, each with its own config.toml, host identity,
 * workspaces and logs. Each host reaches PostgreSQL through a TCP proxy of its own in this
 * process (scripts/chaos_proxy.ts); its workers reach the board through their dispatcher's
 * unix socket, as on any PostgreSQL board. The agent is the single-host mode's random one.
 *
 * While it creates tasks (a fifth of them children of the one before), it injects at random:
 * kill -9 of a worker; SIGSTOP of one; kill -9 of a host's dispatcher, started again a moment
 * later with the same identity; a partition of one host, a few seconds longer than the lease
 * (the harness's own partition, made in that host's proxy: half-open connections that carry
 * nothing, new connections stalled or refused; the partition of a network namespace is
 * another test, tests/dispatch/partition_test.ts); a restart of the database (scripts/pg stop,
 * then start, on the same port); and replays of stale workers' writes (complete, heartbeat,
 * comment with the token of an ended run, as read from its worker's environment while it
 * ran), straight to the database and through a host's socket.
 *
 * One fault at a time per host, and a database restart only while every host's dispatcher is
 * back at work after its last fault: a dispatcher killed with -9 cannot stop its workers and
 * its successor adopts them only once it reaches the board, so a dead dispatcher on a host
 * that also cannot reach the board for longer than the lease is outside what the design
 * promises (docs/dispatcher.md, "A host cut off from the board").
 *
 * Checked throughout, on a Store opened on the database itself (not through a proxy): no task
 * has live workers of two runs (all hosts' workers are processes of this machine), the
 * board's invariants hold, no stale write is accepted. When the time is up every fault is
 * healed and the hosts run on until every task is settled (done, or blocked after its
 * failures, or waiting on a task that is), bounded; then they drain, and every run must have
 * an outcome, no task may be lost (missing, or unsettled), no stale write may have left a
 * trace in the event log, and `kanban doctor` must pass.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { openStore, type Store } from "../lib/store/mod.ts";
import { PartitionProxy } from "./chaos_proxy.ts";
import { staleTraces, unsettled } from "./chaos_audit.ts";
import {
  AGENT,
  BIN,
  pick,
  ROOT,
  signal,
  sleep,
  type Verdict,
  verdict,
  type WorkerProcess,
  workerProcesses,
} from "./_chaos.ts";

const PG = join(ROOT, "scripts", "pg");
/**
 * The runs' lease: long enough that a dispatcher killed with -9 is back before it runs out, and
 * that a host's renewals outlast a wait behind a writer cut off mid-transaction (the PostgreSQL
 * driver's IDLE_IN_TRANSACTION_MS) without a cutoff of their own.
 */
const LEASE_MS = 10_000;
/** How long the hosts may take, once the faults stop, to settle every task. */
const SETTLE_MS = 120_000;

/** postgresServer: the folder of Debian's PostgreSQL server binaries scripts/pg runs, or null. */
export function postgresServer(): string | null {
  let versions: string[];
  try {
    versions = readdirSync("/usr/lib/postgresql");
  } catch {
    return null;
  }
  const bins = versions.map((v) => join("/usr/lib/postgresql", v, "bin"))
    .filter((b) => existsSync(join(b, "pg_ctl")));
  return bins.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).at(-1) ?? null;
}

export interface HostsOptions {
  /** How many hosts (dispatchers), h1 to hN. */
  hosts?: number;
  /** Keep the run's folder (configs, dispatcher logs) and say where it is. */
  keep?: boolean;
  /** Ends the faults (and the wait for the tasks to settle) early; the cleanup still runs. */
  signal?: AbortSignal;
}

export interface HostsCounts extends Verdict {
  hosts: number;
  tasks: number;
  worker_kills: number;
  sigstops: number;
  dispatcher_kills: number;
  dispatchers_started: number;
  partitions: number;
  db_restarts: number;
  stale_writes: number;
  /** Replays refused as they should be (the rest met an unreachable board: not tried). */
  stale_writes_refused: number;
  runs: number;
  retries: number;
  outcomes: Record<string, number>;
  statuses: Record<string, number>;
  /** Distinct tasks ever seen with live workers of two runs at once. */
  tasks_with_two_live_workers: number;
  /** Distinct breaches of the board's invariants seen while it ran. */
  invariant_breaches: number;
  /** How long the hosts took to settle every task after the faults stopped. */
  settle_ms: number;
}

/** hostsFailures lists what a multi-host run's counts say went wrong (empty when all held). */
export function hostsFailures(c: HostsCounts): string[] {
  const out = verdict(c);
  if (c.invariant_breaches > 0) out.push(`${c.invariant_breaches} breaches of board invariants`);
  return out;
}

interface Host {
  name: string;
  config: string;
  log: string;
  proxy: PartitionProxy;
  proc: ChildProcess | null;
  /** When a dispatcher killed with -9 starts again. */
  restartAt: number | null;
  /** When a partition heals. */
  healAt: number | null;
  /** Since when the host has been recovering from a fault (until its dispatcher works again). */
  recovering: number | null;
}

/** exec runs a command to its end (killed after `timeoutMs`), with its output. */
function exec(
  cmd: string,
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs: number,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: null, out: String(err) });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function configText(name: string, dir: string, hosts: number): string {
  return `[dispatch]
host = "${name}"
max_workers = 3
# the run's own load must not hold its workers (lib/dispatch/pressure.ts)
max_load = 0
min_free_memory = 0
poll_interval = "1s"
lease = "${LEASE_MS / 1000}s"
dispatcher_lease = "2s"
stop_grace = "1s"
stall_timeout = "4s"
max_runtime = "6s"
exit_grace = "1s"
backoff = "1s"
max_backoff = "2s"
failure_limit = 4
workspaces = "${join(dir, "workspaces")}"
logs = "${join(dir, "logs")}"
[profiles.chaos]
command = ["${AGENT}"]
max_concurrent = ${3 * hosts}
`;
}

export async function chaosHosts(
  seconds: number,
  log = (s: string) => console.error(s),
  options: HostsOptions = {},
): Promise<HostsCounts> {
  const n = options.hosts ?? 3;
  if (!existsSync(BIN)) throw new Error("dist/kanban is missing: run scripts/build");
  if (postgresServer() === null) {
    throw new Error("no PostgreSQL server binaries: scripts/setup --postgres");
  }
  const t0 = Date.now();
  const say = (s: string) => log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${s}`);
  const home = mkdtempSync(join(tmpdir(), "kanban-chaos-hosts-"));
  // its own folder: scripts/pg hands it to the postgres user, who cannot enter `home`
  const pgDir = mkdtempSync(join(tmpdir(), "kanban-chaos-pg-"));
  const mark = `CHAOS_RUN=${randomBytes(6).toString("hex")}`;
  const env = { PATH: "/usr/bin:/bin", HOME: home, KANBAN_HOME: home };
  const c: HostsCounts = {
    hosts: n,
    tasks: 0,
    worker_kills: 0,
    sigstops: 0,
    dispatcher_kills: 0,
    dispatchers_started: 0,
    partitions: 0,
    db_restarts: 0,
    stale_writes: 0,
    stale_writes_refused: 0,
    stale_writes_accepted: 0,
    runs: 0,
    retries: 0,
    outcomes: {},
    statuses: {},
    duplicates: 0,
    tasks_with_two_live_workers: 0,
    invariant_breaches: 0,
    settle_ms: 0,
    open_runs_at_end: 0,
    runs_without_outcome: 0,
    lost_tasks: 0,
    doctor_ok: false,
  };
  const hosts: Host[] = [];
  let store: Store | null = null;
  const stopped = new Map<number, number>(); // pid -> when to continue it
  const pending: Promise<unknown>[] = [];
  try {
    const started = await exec(PG, ["start", pgDir], process.env, 120_000);
    const pgUrl = started.out.trim().split("\n").at(-1) ?? "";
    if (started.code !== 0 || !pgUrl.startsWith("postgres://")) {
      throw new Error(`scripts/pg start failed: ${started.out}`);
    }
    const pgPort = Number(new URL(pgUrl).port);
    store = openStore(pgUrl, { create: true });
    await store.info(); // makes the board's tables
    chmodSync(AGENT, 0o755);
    for (let i = 1; i <= n; i++) {
      const name = `h${i}`;
      const dir = join(home, name);
      mkdirSync(dir);
      const config = join(dir, "config.toml");
      writeFileSync(config, configText(name, dir, n));
      const proxy = new PartitionProxy({ host: "127.0.0.1", port: pgPort });
      await proxy.listen();
      hosts.push({
        name,
        config,
        log: join(dir, "dispatch.log"),
        proxy,
        proc: null,
        restartAt: null,
        healAt: null,
        recovering: null,
      });
    }
    const board = store;

    const alive = (h: Host) =>
      h.proc !== null && h.proc.exitCode === null && h.proc.signalCode === null;
    const startDispatcher = (h: Host) => {
      const url = new URL(pgUrl);
      url.port = String(h.proxy.port);
      const fd = openSync(h.log, "a");
      h.proc = spawn(BIN, ["dispatch"], {
        env: {
          ...env,
          [mark.split("=")[0]!]: mark.split("=")[1]!,
          KANBAN_CONFIG: h.config,
          KANBAN_DB: url.toString(),
        },
        stdio: ["ignore", fd, fd],
      });
      closeSync(fd);
      h.restartAt = null;
      c.dispatchers_started++;
    };
    for (const h of hosts) startDispatcher(h);

    // The state of the fleet as the board last showed it (refreshed every second).
    let dbRestart: Promise<void> | null = null;
    let dbError: Error | null = null;
    const partitioned = () => hosts.some((h) => h.healAt !== null);
    /** A host ready for its next fault: its dispatcher runs and is past its last one. */
    const idle = (h: Host) =>
      alive(h) && h.restartAt === null && h.healAt === null && h.recovering === null;
    const refresh = async () => {
      const rows = await board.dispatchers();
      const now = Date.now();
      for (const h of hosts) {
        if (h.recovering === null || !alive(h)) continue;
        // a whole pass that started after the fault, recorded (its report's `at`)
        const back = rows.some((r) =>
          r.host === h.name && r.pid === h.proc!.pid && r.lease_expires !== null &&
          Date.parse(r.lease_expires) > now &&
          Date.parse((r.report as { at?: string } | null)?.at ?? "") > h.recovering!
        );
        if (back) {
          say(`${h.name} is back at work`);
          h.recovering = null;
        }
      }
      const breaches = await board.checkInvariants();
      for (const v of breaches) {
        const key = `${v.check}: ${v.ids.join(", ")}`;
        if (!seenBreaches.has(key)) say(`INVARIANT BREACHED: ${key}`);
        seenBreaches.add(key);
      }
    };
    const seenBreaches = new Set<string>();

    // What a stale worker would have: each run's token, read from its worker's environment.
    const tokens = new Map<number, { task: string; token: string; socket: string | null }>();
    const duplicateTasks = new Set<string>();
    const duplicateSeen = new Map<string, string>();
    const acceptedStale = new Set<string>();
    /** This run's workers as last seen: only those are ever signalled (pids get reused). */
    let seen: WorkerProcess[] = [];
    const ours = (pid: number | null) => seen.some((p) => p.pid === pid && p.leader && !p.idle);
    const watch = () => {
      const live = new Map<string, WorkerProcess[]>();
      seen = workerProcesses(mark);
      for (const p of seen) {
        if (p.token !== null && !tokens.has(Number(p.run))) {
          tokens.set(Number(p.run), { task: p.task, token: p.token, socket: p.socket });
          if (tokens.size > 500) tokens.delete(tokens.keys().next().value!);
        }
        if (!p.idle) live.set(p.task, [...live.get(p.task) ?? [], p]);
      }
      for (const [task, procs] of live) {
        const runs = new Set(procs.map((p) => p.run));
        if (runs.size < 2) continue;
        c.duplicates++;
        duplicateTasks.add(task);
        // which processes, once per set of them (a sighting repeats every round)
        const who = procs.map((p) => `run ${p.run}: pid ${p.pid} ${p.command}`).join("; ");
        if (duplicateSeen.get(task) !== who) {
          say(`DUPLICATE: task ${task} has live processes of runs ${[...runs].join(", ")}: ${who}`);
        }
        duplicateSeen.set(task, who);
      }
      for (const [pid, at] of stopped) {
        if (Date.now() >= at) {
          signal(pid, "SIGCONT");
          stopped.delete(pid);
        }
      }
      for (const h of hosts) {
        if (h.restartAt !== null && Date.now() >= h.restartAt) {
          startDispatcher(h);
          h.recovering = Date.now();
          say(`${h.name}: dispatcher started again (pid ${h.proc!.pid})`);
        }
        if (h.healAt !== null && Date.now() >= h.healAt) heal(h);
      }
    };
    const heal = (h: Host) => {
      const how = Math.random() < 0.75 ? "resume" : "reset";
      h.proxy.heal(how);
      h.healAt = null;
      h.recovering = Date.now();
      say(`${h.name}: partition healed (${how})`);
    };

    // The tasks, as created: each one's parent, to tell a task that waits on a blocked one.
    const parents = new Map<string, string | null>();
    let creating: { key: string; parent: string | null } | null = null;
    let last: string | null = null;
    const create = async () => {
      const want = creating ?? {
        key: `chaos-${parents.size}`,
        parent: last !== null && Math.random() < 0.2 ? last : null,
      };
      creating = want; // a failed create is tried again, with its key: never made twice
      const made = await board.createTask({
        title: `chaos ${want.key}`,
        assignee: "chaos",
        idempotency_key: want.key,
        ...(want.parent !== null ? { parents: [want.parent] } : {}),
      }, { name: "chaos" });
      creating = null;
      parents.set(made.task.id, want.parent);
      last = made.task.id;
      c.tasks = parents.size;
    };

    // The faults: each returns whether it happened (it may find nothing to do).
    const killWorker = async () => {
      const run = pick((await board.openRuns()).filter((r) => ours(r.pid)));
      if (!run || !signal(run.pid!, "SIGKILL")) return false;
      c.worker_kills++;
      return true;
    };
    const stopWorker = async () => {
      const run = pick((await board.openRuns()).filter((r) => ours(r.pid)));
      if (!run || stopped.has(run.pid!) || !signal(run.pid!, "SIGSTOP")) return false;
      stopped.set(run.pid!, Date.now() + 500 + Math.random() * 5_000);
      c.sigstops++;
      return true;
    };
    const killDispatcher = () => {
      const h = pick(hosts.filter(idle));
      if (!h || dbRestart !== null || !signal(h.proc!.pid!, "SIGKILL")) return false;
      h.restartAt = Date.now() + 200 + Math.random() * 800;
      c.dispatcher_kills++;
      say(`${h.name}: dispatcher ${h.proc!.pid} killed (-9)`);
      return true;
    };
    const partition = () => {
      const h = pick(hosts.filter(idle));
      if (!h || dbRestart !== null || partitioned()) return false;
      const ms = LEASE_MS + 2_000 + Math.random() * 2_000;
      const mode = Math.random() < 0.6 ? "stall" : "refuse";
      h.proxy.partition(mode);
      h.healAt = Date.now() + ms;
      c.partitions++;
      say(`${h.name}: partitioned for ${(ms / 1000).toFixed(1)} s (new connections: ${mode})`);
      return true;
    };
    const restartDb = () => {
      if (dbRestart !== null || partitioned() || !hosts.every(idle)) return false;
      c.db_restarts++;
      say("database: restarting");
      dbRestart = (async () => {
        const stop = await exec(PG, ["stop", pgDir], process.env, 60_000);
        if (stop.code !== 0) throw new Error(`scripts/pg stop failed: ${stop.out}`);
        await sleep(300 + Math.random() * 1_200);
        const start = await exec(PG, ["start", pgDir], process.env, 120_000);
        const url = start.out.trim().split("\n").at(-1);
        if (start.code !== 0 || url !== pgUrl) {
          throw new Error(`the database did not come back at its URL: ${start.out}`);
        }
        say("database: back");
        for (const h of hosts) h.recovering = Date.now();
      })().catch((err) => {
        dbError = err as Error;
      }).finally(() => {
        dbRestart = null;
      });
      return true;
    };
    let replaying = false;
    const staleWrite = async () => {
      if (replaying) return false;
      const candidates = [...tokens.entries()];
      const [run, t] = pick(candidates) ?? [];
      if (run === undefined || t === undefined) return false;
      if ((await board.getRun(run)).ended_at === null) return false; // not stale yet
      const viaSocket = t.socket !== null && Math.random() < 0.5;
      const verb = pick([["complete", "--summary", "stale write"], ["heartbeat"], [
        "comment",
        "stale write",
      ]])!;
      const worker = {
        ...env,
        KANBAN_TASK: t.task,
        KANBAN_TOKEN: t.token,
        KANBAN_LEASE_MS: "1500", // a report is retried this long on an unreachable board
        ...(viaSocket ? { KANBAN_SOCKET: t.socket! } : { KANBAN_DB: pgUrl }),
      };
      c.stale_writes++;
      replaying = true;
      pending.push(
        exec(BIN, verb, worker, 20_000).then((r) => {
          replaying = false;
          const how = `${verb[0]} of run ${run} (${t.task}) ${viaSocket ? "via socket" : "direct"}`;
          if (r.code === 0) {
            acceptedStale.add(`run ${run}: a stale ${how} was accepted: ${r.out}`);
            say(`STALE WRITE ACCEPTED: ${how}: ${r.out}`);
          } else if (r.code === 1) c.stale_writes_refused++;
        }),
      );
      return true;
    };

    let lastComplaint = "";
    /** complain tells a failed round of this loop, once until another one fails. */
    const complain = (err: unknown) => {
      const line = (err as Error).message.split("\n")[0]!;
      if (line !== lastComplaint) say(`chaos: ${line}`);
      lastComplaint = line;
    };
    const deadline = Date.now() + seconds * 1000;
    let nextRefresh = 0;
    let nextCreate = Date.now();
    const faults = {
      db: restartDb,
      kill: killDispatcher,
      partition,
      stale: staleWrite,
    };
    // A short run still gets each fault: from a point of the way on, the first is forced.
    const forced: [number, keyof typeof faults, () => number][] = [
      [0.05, "db", () => c.db_restarts],
      [0.15, "kill", () => c.dispatcher_kills],
      [0.3, "partition", () => c.partitions],
      [0.5, "stale", () => c.stale_writes],
    ];
    const interrupted = () => options.signal?.aborted === true;
    while (Date.now() < deadline && !interrupted()) {
      if (dbError !== null) throw dbError;
      await sleep(50);
      watch();
      try {
        if (Date.now() >= nextRefresh) {
          nextRefresh = Date.now() + 1_000;
          await refresh();
        }
        if (creating !== null) await create();
        const along = 1 - (deadline - Date.now()) / (seconds * 1000);
        let done = false;
        for (const [at, name, count] of forced) {
          if (!done && along > at && count() === 0) done = await faults[name]();
        }
        if (done) continue;
        const roll = Math.random();
        if (roll < 0.25) {
          if (Date.now() >= nextCreate && c.tasks < seconds * 4) {
            await create();
            nextCreate = Date.now() + 100;
          }
        } else if (roll < 0.29) await killWorker();
        else if (roll < 0.31) await stopWorker();
        else if (roll < 0.315) killDispatcher();
        else if (roll < 0.318) partition();
        else if (roll < 0.32) restartDb();
        else if (roll < 0.36) await staleWrite();
      } catch (err) {
        // the board is restarting, say: what failed is tried again in a later round
        complain(err);
      }
    }

    say("chaos: healing every fault; the hosts settle every task");
    await dbRestart;
    if (dbError !== null) throw dbError;
    for (const h of hosts) {
      if (h.healAt !== null) heal(h);
      if (h.restartAt !== null) h.restartAt = 0; // started by the next watch()
    }
    for (const [pid] of stopped) signal(pid, "SIGCONT");
    stopped.clear();
    await Promise.all(pending);
    const settleStart = Date.now();
    let open: string[] = [...parents.keys()];
    let nextLook = 0;
    while (Date.now() - settleStart < SETTLE_MS && !interrupted()) {
      await sleep(100);
      watch();
      if (Date.now() < nextLook) continue;
      nextLook = Date.now() + 1_000;
      try {
        if (creating !== null) await create();
        await refresh();
        open = unsettled(await board.listTasks({ limit: 1_000_000, archived: true }), parents);
        if (open.length === 0 && creating === null) break;
      } catch (err) {
        complain(err);
      }
    }
    c.settle_ms = Date.now() - settleStart;
    c.tasks_with_two_live_workers = duplicateTasks.size;
    c.invariant_breaches = seenBreaches.size;

    say("chaos: draining (SIGTERM to the dispatchers)");
    const drain = async (ms: number) => {
      const until = Date.now() + ms;
      while (hosts.some(alive) && Date.now() < until) {
        await sleep(100);
        watch();
      }
    };
    for (const h of hosts) if (alive(h)) signal(h.proc!.pid!, "SIGTERM");
    await drain(15_000);
    // a second SIGTERM stops the workers of a dispatcher still waiting for them
    for (const h of hosts) if (alive(h)) signal(h.proc!.pid!, "SIGTERM");
    await drain(10_000);
    for (const h of hosts) {
      if (alive(h)) {
        say(`${h.name}: dispatcher ${h.proc!.pid} did not exit: SIGKILL`);
        signal(h.proc!.pid!, "SIGKILL");
      }
    }

    const runs = await board.listRuns(undefined, 1_000_000);
    c.runs = runs.length;
    c.retries = runs.length - new Set(runs.map((r) => r.task_id)).size;
    c.open_runs_at_end = runs.filter((r) => r.ended_at === null).length;
    c.runs_without_outcome = runs.filter((r) => r.ended_at !== null && r.outcome === null).length;
    for (const r of runs) {
      const k = r.outcome ?? "open";
      c.outcomes[k] = (c.outcomes[k] ?? 0) + 1;
    }
    const tasks = await board.listTasks({ limit: 1_000_000, archived: true });
    for (const t of tasks) c.statuses[t.status] = (c.statuses[t.status] ?? 0) + 1;
    const lost = unsettled(tasks, parents);
    for (const id of lost) {
      const t = tasks.find((x) => x.id === id);
      say(`LOST: task ${id} is ${t ? `${t.status} (${t.last_error ?? "no error"})` : "missing"}`);
    }
    c.lost_tasks = lost.length;
    for (const trace of await staleTraces(board, runs)) acceptedStale.add(trace);
    for (const s of acceptedStale) say(`STALE: ${s}`);
    c.stale_writes_accepted = acceptedStale.size;
    const doctor = spawnSync(BIN, ["doctor"], {
      env: { ...env, KANBAN_DB: pgUrl },
      encoding: "utf8",
      timeout: 60_000,
    });
    c.doctor_ok = doctor.status === 0;
    if (!c.doctor_ok) say(`doctor: ${doctor.stdout}${doctor.stderr}`);
    if (hostsFailures(c).length > 0 && !options.keep) {
      say("chaos: run again with --keep to keep the dispatchers' logs");
    }
    return c;
  } finally {
    for (const h of hosts) {
      // a child not yet reaped: its pid is still ours
      if (h.proc !== null && h.proc.exitCode === null && h.proc.signalCode === null) {
        signal(h.proc.pid!, "SIGKILL");
      }
    }
    for (const [pid] of stopped) signal(pid, "SIGCONT");
    // whatever still runs of this run's workers (a dispatcher killed last leaves them)
    for (const p of workerProcesses(mark)) {
      signal(-p.pid, "SIGKILL");
      signal(p.pid, "SIGKILL");
    }
    await Promise.allSettled(pending);
    for (const h of hosts) await h.proxy.close();
    store?.close();
    const stop = await exec(PG, ["stop", pgDir], process.env, 60_000);
    if (stop.code !== 0) log(`scripts/pg stop ${pgDir} failed: ${stop.out}`);
    rmSync(pgDir, { recursive: true, force: true });
    if (options.keep) log(`chaos: kept ${home} (configs, dispatchers' logs)`);
    else rmSync(home, { recursive: true, force: true });
  }
}
