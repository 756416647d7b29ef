/**
 * The PostgreSQL rows of the bench, shared by bench/bench.ts (its PostgreSQL section) and
 * bench/pg.ts (`deno task bench:pg`, this part alone).
 *
 * The server: the one $KANBAN_BENCH_PG_URL names (else $KANBAN_TEST_PG_URL), or a throw-away
 * cluster that scripts/pg starts in a temporary folder and stops at the end. Without either
 * (no PostgreSQL server installed) the rows are skipped, saying why. Every board and the raw
 * table live in databases of their own (`kanban_bench_<random>`, so the URL's user must be
 * allowed to CREATE DATABASE), dropped at the end.
 *
 * It measures, each kanban figure beside the raw figure of the same concurrency:
 *  1. the raw reference: `BEGIN ISOLATION LEVEL SERIALIZABLE; INSERT one row; COMMIT` with the
 *     store's client (npm `postgres`), sent as the store's driver sends a transaction (BEGIN
 *     pipelined with the INSERT: two round trips), on 1 connection and on 8 at once;
 *  2. claim + complete cycles through the Store API (bench/_claimer.ts, the SQLite race's
 *     claimer) by 1 process and by 8 processes at once, each its own Store and connection pool
 *     and its own host identity, draining one queue of ready tasks; the tally checks that every
 *     task was claimed once and completed once (one run each, every one completed);
 *  3. write-to-spawn across hosts (bench/_pg_dispatch.ts): real `kanban dispatch` processes
 *     with their own `[dispatch] host` on one PostgreSQL board.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { type CreateTaskInput, openStore, type Store } from "../lib/store/mod.ts";
import { PostgresDriver, redact } from "../lib/store/postgres/driver.ts";
import { cpuSnapshot, othersBusy, TICK_MS, treeTicks } from "./_load.ts";
import { DISPATCH_TARGET_MS } from "./_dispatch.ts";
import { hostsBench, type HostsResult } from "./_pg_dispatch.ts";
import { raceClaims, type RaceResult } from "./_race.ts";
import { int, ms, type Rate, rate, ratio, rawTx, row } from "./_stats.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** Dispatchers (processes, connections) in the concurrent rows. */
export const PG_DISPATCHERS = 8;
/** Hosts in the write-to-spawn row. */
export const PG_HOSTS = 3;

export interface PgConfig {
  /** raw reference: stop after this many transactions or this many seconds, per concurrency. */
  rawTx: number;
  rawSeconds: number;
  /** Ready tasks each cycle race (1 process, then PG_DISPATCHERS) drains. */
  cycleTasks: number;
  /** Tasks for the write-to-spawn latency. */
  dispatchTasks: number;
}

export const PG_FULL: PgConfig = {
  rawTx: 100_000,
  rawSeconds: 3,
  cycleTasks: 2_000,
  dispatchTasks: 200,
};
export const PG_QUICK: PgConfig = {
  rawTx: 20_000,
  rawSeconds: 1,
  cycleTasks: 300,
  dispatchTasks: 50,
};

/** The server's facts the table's header shows. */
export interface PgFacts {
  where: string;
  version: string;
  /** fsync, synchronous_commit, shared_buffers, max_connections. */
  settings: string;
  /** The bench started the server (its CPU time is the bench's, not other programs'). */
  ownServer: boolean;
}

export interface PgResult {
  facts: PgFacts;
  raw1: RawResult;
  raw8: RawResult;
  cycles1: CycleResult;
  cycles8: CycleResult;
  /** 1 dispatcher on a board without statistics (never analyzed). */
  cyclesFresh: CycleResult;
  /** The write-to-spawn figures, or why they could not be measured (the others stand). */
  hosts: HostsResult | string;
  /** How busy other programs kept the machine before and during the section. */
  loadBefore: string;
  loadDuring: string;
  seconds: number;
}

/** The rows were not measured: why, and whether that is a failure (not a missing server). */
export interface PgSkipped {
  skipped: string;
  error: boolean;
}

export type PgOutcome = PgResult | PgSkipped;

export function isSkipped(o: PgOutcome): o is PgSkipped {
  return "skipped" in o;
}

/** A server to measure: its maintenance URL, and how to let it go. */
interface Server {
  url: string;
  where: string;
  /** The postmaster's pid when the bench started the server here (its CPU counts as ours). */
  pid: number | null;
  stop(): void;
}

/** The cluster this process started, so that a SIGINT handler can stop it (stopPg). */
let started: Server | null = null;

/** stopPg stops the throw-away cluster, if one is running (for a SIGINT handler). */
export function stopPg(): void {
  started?.stop();
  started = null;
}

/**
 * openServer is the server named by $KANBAN_BENCH_PG_URL or $KANBAN_TEST_PG_URL, or a
 * throw-away cluster started with scripts/pg in a new folder under `parent`.
 */
function openServer(parent: string): Server | PgSkipped {
  for (const name of ["KANBAN_BENCH_PG_URL", "KANBAN_TEST_PG_URL"]) {
    const url = Deno.env.get(name);
    if (url) return { url, where: `$${name} (${redact(url)})`, pid: null, stop: () => {} };
  }
  const dir = mkdtempSync(join(parent, "kanban-bench-pg-"));
  const script = join(ROOT, "scripts", "pg");
  const gone = () => rmSync(dir, { recursive: true, force: true });
  const r = spawnSync(script, ["start", dir], { encoding: "utf8" });
  if (r.status !== 0) {
    spawnSync(script, ["stop", dir]);
    gone();
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n")[0]!
      .replace(/^pg: /, "");
    const missing = /no PostgreSQL server/.test(why);
    return {
      skipped: missing
        ? `KANBAN_BENCH_PG_URL is unset and scripts/pg found no server to start (${why})`
        : `scripts/pg could not start a throw-away cluster: ${why}`,
      error: !missing,
    };
  }
  let pid: number | null = null;
  try {
    pid = Number(readFileSync(join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
  } catch { /* its CPU then counts as other programs' */ }
  const server: Server = {
    url: r.stdout.trim(),
    where: `a throw-away cluster (scripts/pg start ${dir})`,
    pid,
    stop: () => {
      spawnSync(script, ["stop", dir]);
      gone();
    },
  };
  started = server;
  return server;
}

/** Databases of one run on the server, each made empty and all dropped at the end. */
class Databases {
  readonly #admin: postgres.Sql;
  readonly #url: string;
  readonly #names: string[] = [];

  constructor(url: string) {
    this.#url = url;
    this.#admin = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  }

  async facts(where: string, ownServer: boolean): Promise<PgFacts> {
    const show = async (name: string) =>
      String((await this.#admin.unsafe(`SHOW ${name}`))[0]?.[name] ?? "?");
    const settings = ["fsync", "synchronous_commit", "shared_buffers", "max_connections"];
    const values = [];
    for (const s of settings) values.push(`${s}=${await show(s)}`);
    const version = await show("server_version");
    return { where, version, settings: values.join(" "), ownServer };
  }

  /** make creates an empty database and returns its URL. */
  async make(): Promise<string> {
    const name = `kanban_bench_${randomBytes(6).toString("hex")}`;
    await this.#admin.unsafe(`CREATE DATABASE ${name}`);
    this.#names.push(name);
    const u = new URL(this.#url);
    u.pathname = `/${name}`;
    return u.toString();
  }

  async dropAll(): Promise<void> {
    for (const name of this.#names) {
      await this.#admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    }
    await this.#admin.end({ timeout: 5 });
  }
}

/**
 * rawRate: `BEGIN ISOLATION LEVEL SERIALIZABLE; INSERT one row; COMMIT` on `connections`
 * connections at once, each in a loop, until `cfg.rawTx` transactions or `cfg.rawSeconds`.
 * BEGIN goes out with the INSERT and is not waited for, as the store's driver does.
 */
async function rawRate(
  url: string,
  connections: number,
  cfg: PgConfig,
  serverPid: number | null,
): Promise<RawResult> {
  const sql = postgres(url, { max: connections, onnotice: () => {}, connect_timeout: 10 });
  try {
    await sql`CREATE TABLE IF NOT EXISTS raw_rows (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL,
      at BIGINT NOT NULL)`;
    const conns = await Promise.all(Array.from({ length: connections }, () => sql.reserve()));
    const payload = "x".repeat(100);
    const one = async (c: postgres.ReservedSql) => {
      c.unsafe("BEGIN ISOLATION LEVEL SERIALIZABLE").catch(() => {});
      await c`INSERT INTO raw_rows (body, at) VALUES (${payload}, ${Date.now()})`;
      await c.unsafe("COMMIT");
    };
    try {
      await Promise.all(conns.map(async (c) => {
        for (let i = 0; i < 200; i++) await one(c); // warm-up
      }));
      const ticks0 = serverPid === null ? 0 : treeTicks(serverPid);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const deadline = t0 + cfg.rawSeconds * 1000;
      let n = 0;
      await Promise.all(conns.map(async (c) => {
        while (n < cfg.rawTx && performance.now() < deadline) {
          await one(c);
          n++;
        }
      }));
      const perSecond = n / ((performance.now() - t0) / 1000);
      const cpu = process.cpuUsage(cpu0);
      return {
        perSecond,
        n,
        cpuMs: (cpu.user + cpu.system) / 1000,
        serverCpuMs: serverPid === null ? null : (treeTicks(serverPid) - ticks0) * TICK_MS,
      };
    } finally {
      for (const c of conns) c.release();
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** endStore closes a PostgreSQL store and waits until its connections are gone. */
export async function endStore(store: Store): Promise<void> {
  if (store.driver instanceof PostgresDriver) await store.driver.end();
  else store.close();
}

const readyTask = (i: number): CreateTaskInput => ({
  title: `cycle task ${i + 1}`,
  body: "Claim me, then complete me.",
  assignee: "coder",
});

/** The raw rate, and the CPU time of this process and of the server meanwhile (ms). */
export interface RawResult extends Rate {
  cpuMs: number;
  serverCpuMs: number | null;
}

/** A race's figures, and how many transactions the server rolled back (and the store retried). */
export interface CycleResult extends RaceResult {
  rollbacks: number;
  /** The server's CPU time during the race (ms), when the bench started the server. */
  serverCpuMs: number | null;
}

/**
 * cycleRace makes a board of `tasks` ready tasks in a new database, lets `racers` claimer
 * processes drain it with claim + complete, then checks on the board that every task is done
 * with exactly one run, completed.
 *
 * `analyzed`: the board's statistics are taken (ANALYZE) before the race, as autovacuum does on
 * a live board within a minute or so of heavy change; without it the board has none and
 * autovacuum is off for it, as on a board whose tasks were all just created.
 */
async function cycleRace(
  dbs: Databases,
  dir: string,
  tasks: number,
  racers: number,
  analyzed: boolean,
  serverPid: number | null,
): Promise<CycleResult> {
  const url = await dbs.make();
  const store = openStore(url, { create: true });
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await store.info(); // the board's tables
    if (!analyzed) await sql`ALTER TABLE tasks SET (autovacuum_enabled = off)`;
    for (let i = 0; i < tasks; i += 1_000) {
      const inputs: CreateTaskInput[] = [];
      for (let j = i; j < Math.min(tasks, i + 1_000); j++) inputs.push(readyTask(j));
      await store.createTasks(inputs, { name: "bench" });
    }
    if (analyzed) await sql`ANALYZE`;
    const go = join(dir, `go-${racers}-${analyzed ? "a" : "n"}`);
    const ticks0 = serverPid === null ? 0 : treeTicks(serverPid);
    const result = await raceClaims(url, tasks, racers, "cycle", go, "host");
    // the race's own span: from the first release to the last claim, give or take a tick
    const serverCpuMs = serverPid === null ? null : (treeTicks(serverPid) - ticks0) * TICK_MS;
    const done = (await store.stats()).by_status["done"] ?? 0;
    const runs = await store.listRuns(undefined, tasks + 1);
    const completed = runs.filter((r) => r.outcome === "completed").length;
    const perTask = new Set(runs.map((r) => r.task_id)).size;
    if (done !== tasks || runs.length !== tasks || completed !== tasks || perTask !== tasks) {
      throw new Error(
        `${racers} dispatchers: ${done} of ${tasks} tasks done, ${runs.length} runs ` +
          `(${completed} completed) on ${perTask} tasks; expected one completed run per task`,
      );
    }
    // the claimers' backends report their counts as they exit, which may lag a little
    await new Promise((r) => setTimeout(r, 500));
    const [row] = await sql<{ n: number }[]>`SELECT xact_rollback::int AS n FROM pg_stat_database
      WHERE datname = current_database()`;
    return { ...result, rollbacks: row?.n ?? 0, serverCpuMs };
  } finally {
    await sql.end({ timeout: 5 });
    await endStore(store);
  }
}

export interface PgOptions {
  bin: string;
  /** Folder for the dispatchers' homes and the go files (the caller removes it). */
  dir: string;
  /** Where to make the throw-away cluster's folder (its own, removed at the end). */
  parent: string;
  cfg: PgConfig;
  progress: (msg: string) => void;
}

/** pgBench measures the PostgreSQL rows, or says why it could not. */
export async function pgBench(o: PgOptions): Promise<PgOutcome> {
  o.progress("PostgreSQL: opening the server");
  const server = openServer(o.parent);
  if ("skipped" in server) return server;
  const t0 = performance.now();
  const ours = server.pid === null ? [] : [server.pid];
  const dbs = new Databases(server.url);
  try {
    const facts = await dbs.facts(server.where, server.pid !== null);
    const idle0 = cpuSnapshot(ours);
    await new Promise((r) => setTimeout(r, 1_000));
    const run0 = cpuSnapshot(ours);
    const loadBefore = othersBusy(idle0, run0);
    o.progress("PostgreSQL: raw INSERT transactions, 1 connection, then 8");
    const rawUrl = await dbs.make();
    const raw1 = await rawRate(rawUrl, 1, o.cfg, server.pid);
    const raw8 = await rawRate(rawUrl, PG_DISPATCHERS, o.cfg, server.pid);
    o.progress(
      `PostgreSQL: 1 process, then ${PG_DISPATCHERS}, then 1 on a board without statistics, ` +
        `each draining ${int(o.cfg.cycleTasks)} tasks`,
    );
    const race = (racers: number, analyzed: boolean) =>
      cycleRace(dbs, o.dir, o.cfg.cycleTasks, racers, analyzed, server.pid);
    const cycles1 = await race(1, true);
    const cycles8 = await race(PG_DISPATCHERS, true);
    const cyclesFresh = await race(1, false);
    o.progress(`PostgreSQL: ${PG_HOSTS} dispatchers, ${o.cfg.dispatchTasks} tasks`);
    const hosts = await hostsBench({
      bin: o.bin,
      dir: join(o.dir, "pg-hosts"),
      url: await dbs.make(),
      hosts: PG_HOSTS,
      tasks: o.cfg.dispatchTasks,
    }).catch((err: unknown) => err instanceof Error ? err.message : String(err));
    const loadDuring = othersBusy(run0, cpuSnapshot(ours));
    const seconds = (performance.now() - t0) / 1000;
    return {
      facts,
      raw1,
      raw8,
      cycles1,
      cycles8,
      cyclesFresh,
      hosts,
      loadBefore,
      loadDuring,
      seconds,
    };
  } catch (err) {
    return { skipped: err instanceof Error ? err.message : String(err), error: true };
  } finally {
    await dbs.dropAll().catch(() => {});
    server.stop();
    if (started === server) started = null;
  }
}

/** pgOk: every target met and no task claimed twice (a skip for want of a server is ok). */
export function pgOk(o: PgOutcome): boolean {
  if (isSkipped(o)) return !o.error;
  return o.cycles1.duplicates === 0 && o.cycles8.duplicates === 0 &&
    o.cyclesFresh.duplicates === 0 && typeof o.hosts !== "string" &&
    o.hosts.latency.median < DISPATCH_TARGET_MS;
}

/** pgRows is the PostgreSQL section of the table. */
export function pgRows(o: PgOutcome): string[] {
  if (isSkipped(o)) {
    return [`PostgreSQL rows skipped: ${o.skipped}`];
  }
  const cycleRow = (label: string, r: CycleResult, raw: Rate) =>
    row(
      label,
      rate(r, "cycles/s"),
      `(${int(r.n)} cycles = ${int(r.perSecond * 2)} tx/s, ` +
        `${int(r.spread[0])}-${int(r.spread[1])} per process)`,
      `duplicates ${r.duplicates}`,
      `${int(r.rollbacks)} tx retried`,
      ratio(r.perSecond, raw, 2),
      `CPU/cycle: ${cpu("claimers", r.cpuMs, r.serverCpuMs, r.n)}`,
    );
  const cpu = (client: string, clientMs: number, serverMs: number | null, n: number) =>
    `${client} ${(clientMs / n).toFixed(2)} ms` +
    (serverMs === null ? "" : `, server ${(serverMs / n).toFixed(2)} ms`);
  const rawRow = (label: string, r: RawResult, raw1: Rate) =>
    row(
      label,
      rate(r, "tx/s"),
      `(${int(r.n)} tx, ${(1_000_000 / r.perSecond).toFixed(1)} µs each)`,
      r === raw1 ? "1.00x raw" : `${(r.perSecond / raw1.perSecond).toFixed(2)}x raw 1 conn`,
      `CPU/tx: ${cpu("client", r.cpuMs, r.serverCpuMs, r.n)}`,
    );
  const hostRows = (h: HostsResult | string) => {
    if (typeof h === "string") return [row("write -> worker start", `FAILED: ${h}`)];
    const lat = h.latency;
    const ok = lat.median < DISPATCH_TARGET_MS;
    return [
      row(
        `write -> worker start (${h.tasks} tasks)`,
        `p50 ${ms(lat.median).padStart(9)}`,
        `p90 ${ms(lat.p90).padStart(9)}`,
        `p99 ${ms(lat.p99).padStart(9)}`,
        `max ${ms(lat.max)}`,
        rawTx(lat.median, o.raw1),
        `target p50 < ${DISPATCH_TARGET_MS} ms  ${ok ? "OK" : "MISSED"}`,
      ),
      row(
        "tasks started per host",
        Object.entries(h.byHost).map(([host, n]) => `${host} ${n}`).join(", "),
      ),
    ];
  };
  return [
    `PostgreSQL ${o.facts.version}, ${o.facts.where}`,
    `  settings ${o.facts.settings}`,
    `  load     other programs kept busy ${o.loadBefore} in the second before, ` +
    `${o.loadDuring} on average during this section (${o.seconds.toFixed(1)} s)` +
    (o.facts.ownServer ? "" : "; the server's own work counts among them"),
    "reference (each ratio below is to the raw figure of the same concurrency)",
    rawRow("raw INSERT tx, 1 connection", o.raw1, o.raw1),
    rawRow(`raw INSERT tx, ${PG_DISPATCHERS} connections at once`, o.raw8, o.raw1),
    "claim + complete, Store API (each process its own pool and host)",
    cycleRow("1 dispatcher", o.cycles1, o.raw1),
    cycleRow(`${PG_DISPATCHERS} dispatchers at once`, o.cycles8, o.raw8),
    cycleRow("1 dispatcher, board without statistics", o.cyclesFresh, o.raw1),
    `dispatchers, ${PG_HOSTS} kanban dispatch hosts on one board`,
    ...hostRows(o.hosts),
  ];
}
