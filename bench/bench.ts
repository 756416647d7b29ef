/**
 * bench/bench.ts: the figures in docs/performance.md, in one run.
 *
 *   deno task bench            full run (10,000- and 100,000-task boards, under 2 minutes)
 *   deno task bench --quick    smoke run (2,000- and 10,000-task boards, fewer iterations)
 *
 * Options: --quick, --build (run scripts/build even when dist/kanban exists), --dir PATH
 * (make the temporary folder under PATH instead of the system temp folder; the disk matters),
 * --bin PATH (measure that kanban binary instead of dist/kanban, e.g. a build of one commit).
 *
 * It measures, in a temporary folder it removes at the end:
 *  1. the raw reference: single-row INSERT transactions per second with node:sqlite on the
 *     same disk with the same pragmas; every other figure is shown as a ratio to it;
 *  2. through the Store API, in this process: task creates one per transaction and batched
 *     (Store.createTasks, 1,000 per transaction), and claim+complete cycles;
 *     Beside them, the floor (bench/_floor.ts): the SQLite driver's statements for the same
 *     writes run alone on node:sqlite, on the board's schema and on the board without its
 *     indexes: what any kanban code or any choice of indexes could reach;
 *  3. 8 processes racing for the claims of one board (bench/_claimer.ts): claims per second
 *     and how many tasks were claimed twice (must be 0);
 *  4. `dist/kanban list --json` and `dist/kanban show <id> --json` on seeded boards of 10,000
 *     and 100,000 tasks, whole process (spawn, wait, read all stdout), plus the binary's
 *     start-up floor (`--version`);
 *  5. the dispatcher (bench/_dispatch.ts): write-to-spawn latency, idle RSS and CPU;
 *  6. PostgreSQL (bench/_pg.ts, also alone as `deno task bench:pg`): the server's raw
 *     single-row transaction rate with 1 and 8 connections, claim + complete cycles with 1 and
 *     8 dispatcher processes, write-to-spawn with 3 dispatcher hosts; on $KANBAN_BENCH_PG_URL
 *     (else $KANBAN_TEST_PG_URL) or a throw-away cluster (scripts/pg), skipped, saying why,
 *     when there is no PostgreSQL server.
 * The table goes to stdout, progress to stderr. Exit code 1 when a target is missed or a task
 * was claimed twice.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type CreateTaskInput, openStore, type Store } from "../lib/store/mod.ts";
import type { SqliteDriver } from "../lib/store/sqlite/driver.ts";
import { runtimeName, sqliteVersion } from "../lib/runtime.ts";
import { cpuSnapshot, othersBusy } from "./_load.ts";
import { PG_FULL, PG_QUICK, pgBench, pgOk, pgRows, stopPg } from "./_pg.ts";
import { raceClaims, type RaceResult } from "./_race.ts";
import { connect, floorRates, readyBoard } from "./_floor.ts";
import { DISPATCH_TARGET_MS, dispatchBench, type DispatchResult } from "./_dispatch.ts";
import {
  bytes,
  int,
  ms,
  prng,
  type Rate,
  rate,
  ratio,
  rawTx,
  row,
  summarize,
  type Summary,
} from "./_stats.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
/** The binary under test: dist/kanban, or --bin PATH. */
let BIN = join(ROOT, "dist", "kanban");
/** `list --json` on the smaller board should take less than this (median, whole process). */
const LIST_TARGET_MS = 150;
/** The short queue: a board with this many ready tasks, drained by claim+complete. */
const SHORT_QUEUE = 500;
/** Tasks per transaction for batched creates (Store.createTasks) and for seeding. */
const BATCH = 1_000;
/** Processes racing for claims. */
const RACERS = 8;

interface Config {
  /** The two seeded boards for `list` and `show`: the second grows the first. */
  boards: [number, number];
  /** Binary timings: warm-ups and runs on the smaller board, then on the larger one. */
  warmups: number;
  runs: number;
  bigWarmups: number;
  bigRuns: number;
  /** Creates: this many one per transaction, and as many again in batches of BATCH. */
  creates: number;
  /** claim+complete: stop after this many cycles or this many seconds. */
  cycles: number;
  cycleSeconds: number;
  /** Ready tasks the RACERS processes drain, once claiming only, once claim+complete. */
  raceTasks: number;
  /** Dispatcher: tasks for the latency, then how long it idles. */
  dispatchTasks: number;
  idleMs: number;
  /** raw reference: stop after this many transactions or this many seconds. */
  rawTx: number;
  rawSeconds: number;
}

/** Writes timed with synchronous=FULL: fsyncs are slow, so fewer of them. */
const FULL_WRITES = 2_000;

const FULL: Config = {
  boards: [10_000, 100_000],
  warmups: 3,
  runs: 30,
  bigWarmups: 2,
  bigRuns: 10,
  creates: 20_000,
  cycles: 20_000,
  cycleSeconds: 5,
  raceTasks: 5_000,
  dispatchTasks: 200,
  idleMs: 10_000,
  rawTx: 100_000,
  rawSeconds: 3,
};
const QUICK: Config = {
  boards: [2_000, 10_000],
  warmups: 1,
  runs: 8,
  bigWarmups: 1,
  bigRuns: 3,
  creates: 2_000,
  cycles: 2_000,
  cycleSeconds: 1,
  raceTasks: 1_000,
  dispatchTasks: 50,
  idleMs: 2_000,
  rawTx: 20_000,
  rawSeconds: 1,
};

interface Args {
  quick: boolean;
  build: boolean;
  dir: string;
  bin: string | null;
}

function usage(code: number): never {
  (code === 0 ? process.stdout : process.stderr).write(
    "usage: deno run -A bench/bench.ts [--quick] [--build] [--dir PATH] [--bin PATH]\n",
  );
  process.exit(code);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, build: false, dir: tmpdir(), bin: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") args.quick = true;
    else if (a === "--build") args.build = true;
    else if (a === "--dir" && argv[i + 1] !== undefined) args.dir = resolve(argv[++i]!);
    else if (a.startsWith("--dir=")) args.dir = resolve(a.slice(6));
    else if (a === "--bin" && argv[i + 1] !== undefined) args.bin = resolve(argv[++i]!);
    else if (a.startsWith("--bin=")) args.bin = resolve(a.slice(6));
    else if (a === "-h" || a === "--help") usage(0);
    else {
      process.stderr.write(`bench: unknown argument "${a}"\n`);
      usage(2);
    }
  }
  return args;
}

function progress(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}

// ---------------------------------------------------------------------------------------------
// The binary and the machine

/** newestSource returns the latest mtime (ms) among the files the binary is built from. */
function newestSource(): number {
  let newest = 0;
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) { for (const e of readdirSync(p)) walk(join(p, e)); }
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const p of ["main.ts", "lib", "package.json", "package-lock.json"]) {
    if (existsSync(join(ROOT, p))) walk(join(ROOT, p));
  }
  return newest;
}

function ensureBinary(force: boolean): void {
  if (force || !existsSync(BIN)) {
    progress(force ? "building dist/kanban (--build)" : "dist/kanban is missing: building it");
    const r = spawnSync(join(ROOT, "scripts", "build"), force ? ["--force"] : [], {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (r.status !== 0 || !existsSync(BIN)) {
      throw new Error(`scripts/build failed (exit ${r.status ?? r.signal})`);
    }
  } else if (newestSource() > statSync(BIN).mtimeMs) {
    progress("note: sources are newer than dist/kanban; pass --build to measure the current code");
  }
}

/** childEnv is this process's environment without anything that would pick another board. */
function childEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("KANBAN_")) env[k] = v;
  }
  env["KANBAN_HOME"] = home;
  return env;
}

interface Machine {
  cpu: string;
  cores: number;
  memory: string;
  kernel: string;
  runtime: string;
  runtimeSqlite: string;
  binary: string;
  binarySize: string;
  disk: string;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1]!.trim();
  } catch { /* not Linux */ }
  return cpus()[0]?.model ?? "unknown";
}

/** diskOf names the mount holding `path`: its filesystem type and device. */
function diskOf(path: string): string {
  try {
    let best = { mount: "", text: "unknown" };
    for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
      const [dev, mount, type] = line.split(" ");
      if (!dev || !mount || !type) continue;
      const m = mount.replace(/\\040/g, " ");
      const under = path === m || path.startsWith(m.endsWith("/") ? m : `${m}/`);
      if (under && m.length >= best.mount.length) {
        best = { mount: m, text: `${type} (${dev} on ${m})` };
      }
    }
    return best.text;
  } catch {
    return "unknown";
  }
}

function machine(dir: string): Machine {
  const v = spawnSync(BIN, ["--version"], { encoding: "utf8" });
  if (v.status !== 0) throw new Error(`dist/kanban --version failed: ${v.stderr}`);
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    kernel: `${process.platform} ${release()}`,
    runtime: runtimeName(),
    runtimeSqlite: sqliteVersion(),
    binary: v.stdout.trim(),
    binarySize: bytes(statSync(BIN).size),
    disk: diskOf(dir),
  };
}

// ---------------------------------------------------------------------------------------------
// Seeded boards for the compiled binary

const WORDS = (
  "schema migration endpoint handler retry lease token worker queue review summary " +
  "parent child index cache timeout backoff heartbeat dashboard filter tenant profile " +
  "report metric trace config deploy rollback test fixture refactor docs latency budget"
).split(" ");

function words(rng: () => number, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(rng() * WORDS.length)]!);
  return out.join(" ");
}

/** body makes a markdown body of roughly 200-600 characters. */
function body(rng: () => number): string {
  const target = 200 + Math.floor(rng() * 400);
  let s = `## Goal\n\n${words(rng, 8)}.\n\n## Notes\n\n`;
  while (s.length < target) s += `- ${words(rng, 6 + Math.floor(rng() * 6))}\n`;
  return s;
}

function pick<T>(rng: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rng() * xs.length)]!;
}

interface Seeded {
  tasks: number;
  seconds: number;
  showId: string;
  showChildren: number;
  mix: string;
  size: number;
  scheduled: number;
}

/** What happens to one seeded task once it exists. */
interface Plan {
  input: CreateTaskInput;
  comment: string | null;
  /** null: not a root (triage, scheduled or a child), so it stays as created. */
  fate: "ready" | "done" | "running" | "blocked" | null;
  text: string;
}

/**
 * Seeder makes a board through the Store API, from a fixed seed, and can grow it: ~3% triage,
 * ~3% scheduled, ~25% with one or two parents (todo until their parents are done), and of the
 * rest about 45% done (claim + complete), 5% running, 2% blocked, the others ready. Assignees,
 * tenants, priorities, bodies of a few hundred characters, and a comment on one task in ten.
 * Tasks are created BATCH at a time with Store.createTasks (one transaction per batch; parents
 * come from the 200 tasks made before the batch); comments, claims, completes and blocks are
 * one transaction each, as a person or a worker would make them.
 *
 * The scheduled tasks of each grow() are created at its end: every claim first looks for due
 * scheduled tasks, and that query currently reads every scheduled task (docs/performance.md),
 * which would make seeding 100,000 tasks take minutes. The board comes out the same.
 */
class Seeder {
  readonly #rng = prng(20261124);
  readonly #ids: string[] = [];
  readonly #children = new Map<string, number>();
  #planned = 0;
  #seconds = 0;

  #plan(i: number): Plan {
    const rng = this.#rng;
    const r = rng();
    const input: CreateTaskInput = {
      title: `Task ${i + 1}: ${words(rng, 3 + Math.floor(rng() * 5))}`,
      body: body(rng),
      assignee: pick(rng, ["coder", "coder", "reviewer", "writer", "orchestrator", null]),
      tenant: pick(rng, ["acme", "globex", "initech", null, null]),
      priority: Math.floor(rng() * 8) - 2,
    };
    let root = true;
    if (r < 0.03) {
      input.triage = true;
      root = false;
    } else if (r < 0.06) {
      input.not_before = Date.now() + 86_400_000;
      root = false;
    } else if (r < 0.31 && this.#ids.length > 10) {
      const window = this.#ids.slice(-200);
      const parents = new Set([pick(rng, window)]);
      if (rng() < 0.3) parents.add(pick(rng, window));
      input.parents = [...parents];
      for (const p of parents) this.#children.set(p, (this.#children.get(p) ?? 0) + 1);
      root = false;
    }
    const comment = rng() < 0.1 ? `Note: ${words(rng, 12)}.` : null;
    const f = rng();
    const fate = !root
      ? null
      : f < 0.45
      ? "done"
      : f < 0.5
      ? "running"
      : f < 0.52
      ? "blocked"
      : "ready";
    return { input, comment, fate, text: words(rng, 10) };
  }

  /** make creates `plans` in one transaction, then comments on them and claims the roots. */
  async #make(store: Store, plans: Plan[]): Promise<void> {
    const human = { name: "bench" };
    const worker = { name: "bench-worker" };
    const created = await store.createTasks(plans.map((p) => p.input), human);
    for (const [j, { task }] of created.entries()) {
      const plan = plans[j]!;
      this.#ids.push(task.id);
      if (plan.comment) await store.comment(task.id, plan.comment, human);
      if (plan.fate === null || plan.fate === "ready") continue;
      const claim = await store.claim({ taskId: task.id }, worker);
      if (!claim) throw new Error(`could not claim ${task.id}`);
      const fenced = { name: worker.name, token: claim.token };
      if (plan.fate === "done") {
        // with usage, as a worker of a CLI kanban cannot read reports it (usage totals read it)
        const usage = { input_tokens: 1200, output_tokens: 80, cache_read_tokens: 300 };
        await store.complete(task.id, { summary: `Done: ${plan.text}.`, usage }, fenced);
      } else if (plan.fate === "blocked") {
        await store.block(task.id, `Question: ${plan.text}?`, fenced);
      } // else: left running
    }
  }

  /** grow adds tasks to the board at `path` until it holds `n`. */
  async grow(path: string, n: number): Promise<Seeded> {
    const store = openStore(path, { create: true });
    const t0 = performance.now();
    try {
      const scheduled: Plan[] = [];
      while (this.#planned < n) {
        const plans: Plan[] = [];
        while (plans.length < BATCH && this.#planned < n) {
          const plan = this.#plan(this.#planned++);
          (plan.input.not_before !== undefined ? scheduled : plans).push(plan);
        }
        await this.#make(store, plans);
      }
      for (let i = 0; i < scheduled.length; i += BATCH) {
        await this.#make(store, scheduled.slice(i, i + BATCH));
      }
      this.#seconds += (performance.now() - t0) / 1000;
      const stats = await store.stats();
      const mix = Object.entries(stats.by_status)
        .filter(([, count]) => count > 0)
        .map(([status, count]) => `${status} ${int(count)}`)
        .join(", ");
      // show: the task with the most children (a heavy but real detail view).
      let showId = this.#ids[0]!;
      let showChildren = 0;
      for (const [id, count] of this.#children) {
        if (count > showChildren) [showId, showChildren] = [id, count];
      }
      const size = ["", "-wal"].reduce(
        (a, x) => a + (existsSync(path + x) ? statSync(path + x).size : 0),
        0,
      );
      return {
        tasks: this.#ids.length,
        seconds: this.#seconds,
        showId,
        showChildren,
        mix,
        size,
        scheduled: stats.by_status["scheduled"] ?? 0,
      };
    } finally {
      store.close();
    }
  }
}

interface ProcessRun {
  ms: number;
  stdout: Buffer;
}

/** runBinary spawns dist/kanban, reads all of its stdout and waits for it to exit. */
function runBinary(args: string[], env: Record<string, string>): Promise<ProcessRun> {
  return new Promise((ok, fail) => {
    const t0 = performance.now();
    const child = spawn(BIN, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", fail);
    child.on("close", (code, signal) => {
      const elapsed = performance.now() - t0;
      if (code !== 0) {
        const msg = Buffer.concat(err).toString("utf8").trim();
        fail(new Error(`kanban ${args.join(" ")} exited ${code ?? signal}: ${msg}`));
      } else ok({ ms: elapsed, stdout: Buffer.concat(out) });
    });
  });
}

async function timeBinary(
  args: string[],
  env: Record<string, string>,
  warmups: number,
  runs: number,
): Promise<{ summary: Summary; last: Buffer }> {
  for (let i = 0; i < warmups; i++) await runBinary(args, env);
  const samples: number[] = [];
  let last: Buffer = Buffer.alloc(0);
  for (let i = 0; i < runs; i++) {
    const r = await runBinary(args, env);
    samples.push(r.ms);
    last = r.stdout;
  }
  return { summary: summarize(samples), last };
}

/** timeInProcess times `fn` (sync or async) `runs` times after `warmups`, in ms. */
async function timeInProcess(fn: () => unknown, warmups: number, runs: number): Promise<Summary> {
  for (let i = 0; i < warmups; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

interface BoardTimes {
  seeded: Seeded;
  list: Summary;
  listBytes: number;
  show: Summary;
  showBytes: number;
}

/** timeBoard times `list --json` (checking it holds every task) and `show <id> --json`. */
async function timeBoard(
  board: string,
  seeded: Seeded,
  env: Record<string, string>,
  warmups: number,
  runs: number,
): Promise<BoardTimes> {
  const list = await timeBinary(["--db", board, "list", "--json"], env, warmups, runs);
  const listed = JSON.parse(list.last.toString("utf8")) as unknown[];
  if (!Array.isArray(listed) || listed.length !== seeded.tasks) {
    throw new Error(`list --json returned ${listed.length} tasks, expected ${seeded.tasks}`);
  }
  const show = await timeBinary(
    ["--db", board, "show", seeded.showId, "--json"],
    env,
    warmups,
    runs,
  );
  return {
    seeded,
    list: list.summary,
    listBytes: list.last.length,
    show: show.summary,
    showBytes: show.last.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Store API write rates, the racing processes, and the raw node:sqlite reference

const readyTask = (i: number): CreateTaskInput => ({
  title: `cycle task ${i + 1}`,
  body: "Claim me, then complete me.",
  assignee: "coder",
});

/** createRate creates `n` ready tasks, one per transaction. */
async function createRate(store: Store, n: number): Promise<Rate> {
  const actor = { name: "bench" };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await store.createTask(readyTask(i), actor);
  return { perSecond: n / ((performance.now() - t0) / 1000), n };
}

/** batchRate creates `n` ready tasks, BATCH per transaction (Store.createTasks). */
async function batchRate(store: Store, n: number): Promise<Rate> {
  const actor = { name: "bench" };
  const t0 = performance.now();
  for (let i = 0; i < n; i += BATCH) {
    const inputs: CreateTaskInput[] = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++) inputs.push(readyTask(j));
    await store.createTasks(inputs, actor);
  }
  return { perSecond: n / ((performance.now() - t0) / 1000), n };
}

/** cycleRate claims the best ready task and completes it, until `max` cycles or `seconds`. */
async function cycleRate(store: Store, max: number, seconds: number): Promise<Rate> {
  const actor = { name: "bench-worker" };
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let n = 0;
  while (n < max && performance.now() < deadline) {
    const c = await store.claim({}, actor);
    if (!c) throw new Error(`nothing to claim after ${n} cycles`);
    await store.complete(c.task.id, { summary: "ok" }, { name: actor.name, token: c.token });
    n++;
  }
  return { perSecond: n / ((performance.now() - t0) / 1000), n };
}

/**
 * budgetRates measures the claim path with budgets active against the same board without: two
 * fresh boards of `n` ready tasks (the second with three hard budgets: the board's tokens per
 * day, coder's runs per 5 hours, a tenant's cost per month, none of them spent), each drained by
 * claim + complete cycles as a dispatcher claims (its profile's tasks; with budgets, the holds
 * of one pass applied to every claim), alternated in rounds so that drift falls on both. Also
 * the time of one pass's budget judgement (Store.budgetHolds), the part a pass adds once.
 */
async function budgetRates(
  dir: string,
  n: number,
  seconds: number,
): Promise<{ plain: Rate; budgeted: Rate; holds: Summary }> {
  const actor = { name: "bench-worker" };
  const plain = openStore(join(dir, "budget-plain.db"), { create: true });
  const budgeted = openStore(join(dir, "budget-on.db"), { create: true });
  try {
    for (const s of [plain, budgeted]) await batchRate(s, n);
    const person = { name: "bench" };
    const big = 1e12;
    await budgeted.addBudget(
      { name: "tokens", scope: "board", metric: "tokens", cap: big, period: "day" },
      person,
    );
    await budgeted.addBudget(
      {
        name: "coder-runs",
        scope: "profile",
        target: "coder",
        metric: "runs",
        cap: big,
        period: "hours",
        hours: 5,
      },
      person,
    );
    await budgeted.addBudget(
      {
        name: "acme",
        scope: "tenant",
        target: "acme",
        metric: "cost_usd",
        cap: big,
        period: "month",
      },
      person,
    );
    const holds = await budgetedHolds(budgeted);
    const totals = { plain: { n: 0, ms: 0 }, budgeted: { n: 0, ms: 0 } };
    const round = async (s: Store, t: { n: number; ms: number }, filter: ClaimFilterOf) => {
      const t0 = performance.now();
      for (let i = 0; i < 200 && t.n < n; i++, t.n++) {
        const c = await s.claim({ assignees: ["coder"], ...filter }, actor);
        if (!c) throw new Error(`nothing to claim after ${t.n} cycles`);
        await s.complete(c.task.id, { summary: "ok" }, { name: actor.name, token: c.token });
      }
      t.ms += performance.now() - t0;
    };
    const deadline = performance.now() + seconds * 2000;
    while (totals.budgeted.n < n && performance.now() < deadline) {
      await round(plain, totals.plain, {});
      await round(budgeted, totals.budgeted, {
        notTenants: [...holds.tenants.keys()],
        notTasks: [...holds.tasks.keys()],
      });
    }
    const rateOf = (t: { n: number; ms: number }): Rate => ({
      perSecond: t.n / (t.ms / 1000),
      n: t.n,
    });
    return {
      plain: rateOf(totals.plain),
      budgeted: rateOf(totals.budgeted),
      holds: await timeInProcess(() => budgetedHolds(budgeted), 3, 50),
    };
  } finally {
    plain.close();
    budgeted.close();
  }
}

type ClaimFilterOf = { notTenants?: string[]; notTasks?: string[] };

/** budgetedHolds is one pass's budget judgement, as the budget service makes it. */
function budgetedHolds(s: Store) {
  return s.budgetHolds(["coder", "writer"], { name: "bench-dispatcher" });
}

/**
 * raceRate fills a new board with `tasks` ready tasks, then RACERS Deno processes
 * (bench/_claimer.ts) drain it at once (bench/_race.ts).
 */
async function raceRate(dir: string, tasks: number, mode: "claim" | "cycle"): Promise<RaceResult> {
  const board = join(dir, `race-${mode}.db`);
  await readyBoard(board, tasks);
  return await raceClaims(board, tasks, RACERS, mode, join(dir, `go-${mode}`));
}

/**
 * rawInsertRate: BEGIN IMMEDIATE; one INSERT; COMMIT, in a loop, with the store's pragmas
 * (`synchronous` NORMAL as the store runs, or FULL: an fsync of the WAL at every commit).
 */
function rawInsertRate(path: string, cfg: Config, synchronous: "NORMAL" | "FULL"): Rate {
  const db = connect(path, synchronous);
  try {
    db.exec(`CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL, at INTEGER NOT NULL)
      STRICT`);
    const insert = db.prepare("INSERT INTO rows (body, at) VALUES (?, ?)");
    const payload = "x".repeat(100);
    for (let i = 0; i < 200; i++) { // warm-up
      db.exec("BEGIN IMMEDIATE");
      insert.run(payload, Date.now());
      db.exec("COMMIT");
    }
    const t0 = performance.now();
    const deadline = t0 + cfg.rawSeconds * 1000;
    let n = 0;
    while (n < cfg.rawTx && (n % 256 !== 0 || performance.now() < deadline)) {
      db.exec("BEGIN IMMEDIATE");
      insert.run(payload, Date.now());
      db.exec("COMMIT");
      n++;
    }
    return { perSecond: n / ((performance.now() - t0) / 1000), n };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The table

function latency(s: Summary): string[] {
  return [
    `median ${ms(s.median).padStart(9)}`,
    `p90 ${ms(s.p90).padStart(9)}`,
    `min ${ms(s.min).padStart(9)}`,
  ];
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const cfg = args.quick ? QUICK : FULL;
  const started = performance.now();
  if (args.bin === null) ensureBinary(args.build);
  else if (!existsSync(args.bin)) throw new Error(`no binary at ${args.bin}`);
  else BIN = args.bin;

  const dir = mkdtempSync(join(args.dir, "kanban-bench-"));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on("SIGINT", () => {
    stopPg();
    cleanup();
    process.exit(130);
  });
  try {
    const facts = machine(dir);
    const env = childEnv(join(dir, "home"));
    const idle0 = cpuSnapshot();
    await new Promise((r) => setTimeout(r, 1_000));
    const run0 = cpuSnapshot();
    const loadBefore = othersBusy(idle0, run0);

    progress("raw node:sqlite INSERT transactions");
    const raw = rawInsertRate(join(dir, "raw.db"), cfg, "NORMAL");

    progress(`creating ${int(cfg.creates)} tasks one by one, then claim+complete cycles`);
    const cycles = openStore(join(dir, "cycles.db"), { create: true });
    let creates: Rate;
    let claims: Rate;
    let pragmas: Awaited<ReturnType<SqliteDriver["pragmas"]>>;
    try {
      pragmas = await (cycles.driver as SqliteDriver).pragmas();
      creates = await createRate(cycles, cfg.creates);
      claims = await cycleRate(cycles, cfg.cycles, cfg.cycleSeconds);
    } finally {
      cycles.close();
    }
    progress(`creating ${int(cfg.creates)} tasks in batches of ${int(BATCH)}`);
    const batched = openStore(join(dir, "batched.db"), { create: true });
    let batches: Rate;
    try {
      batches = await batchRate(batched, cfg.creates);
    } finally {
      batched.close();
    }
    const short = openStore(join(dir, "short.db"), { create: true });
    let shortClaims: Rate;
    try {
      await createRate(short, SHORT_QUEUE);
      shortClaims = await cycleRate(short, SHORT_QUEUE, cfg.cycleSeconds);
    } finally {
      short.close();
    }
    progress("the driver's statements alone, on the board's schema and without its indexes");
    const floor = await floorRates(dir, cfg.creates, cfg.cycleSeconds);
    const bare = await floorRates(dir, cfg.creates, cfg.cycleSeconds, true);

    progress("the same writes with synchronous=FULL (an fsync at every commit)");
    const rawFull = rawInsertRate(join(dir, "raw-full.db"), cfg, "FULL");
    const full = openStore(join(dir, "full.db"), { create: true, synchronous: "full" });
    let fullCreates: Rate;
    let fullClaims: Rate;
    try {
      fullCreates = await createRate(full, Math.min(cfg.creates, FULL_WRITES));
      fullClaims = await cycleRate(full, Math.min(cfg.creates, FULL_WRITES), cfg.cycleSeconds);
    } finally {
      full.close();
    }

    progress("claim + complete with budgets active, against the same board without");
    const budgets = await budgetRates(dir, Math.min(cfg.creates, 4_000), cfg.cycleSeconds);

    progress(`${RACERS} processes racing for ${int(cfg.raceTasks)} claims, twice`);
    const raceClaims = await raceRate(dir, cfg.raceTasks, "claim");
    const raceCycles = await raceRate(dir, cfg.raceTasks, "cycle");

    const board = join(dir, "board.db");
    const seeder = new Seeder();
    const [small, big] = cfg.boards;
    progress(`seeding ${int(small)} tasks through the Store API`);
    const seededSmall = await seeder.grow(board, small);
    progress(`timing dist/kanban (${cfg.warmups} warm-ups + ${cfg.runs} runs each)`);
    const version = await timeBinary(["--version"], env, cfg.warmups, cfg.runs);
    const smallTimes = await timeBoard(board, seededSmall, env, cfg.warmups, cfg.runs);
    const reader = openStore(board);
    let inProcess: Summary;
    try {
      inProcess = await timeInProcess(
        async () => JSON.stringify(await reader.listTasks()).length,
        cfg.warmups,
        cfg.runs,
      );
    } finally {
      reader.close();
    }
    progress(`growing the board to ${int(big)} tasks`);
    const seededBig = await seeder.grow(board, big);
    progress(`timing dist/kanban (${cfg.bigWarmups} warm-ups + ${cfg.bigRuns} runs each)`);
    const bigTimes = await timeBoard(board, seededBig, env, cfg.bigWarmups, cfg.bigRuns);
    progress(`claim+complete cycles on the ${int(big)}-task board`);
    const bigStore = openStore(board);
    let bigClaims: Rate;
    let usageWindow: Summary;
    let usageAll: Summary;
    let runs: number;
    try {
      bigClaims = await cycleRate(bigStore, cfg.cycles, cfg.cycleSeconds);
      // usage totals (kanban stats, GET /api/v1/usage, the dashboard): every run of the board
      // ended within the last minutes, so the 24 h window reads them all, as "all time" does
      const since = Date.now() - 86_400_000;
      usageWindow = await timeInProcess(() => bigStore.usageStats({ since }), 1, cfg.bigRuns);
      usageAll = await timeInProcess(() => bigStore.usageStats(), 1, cfg.bigRuns);
      runs = (await bigStore.usageStats()).total.runs;
    } finally {
      bigStore.close();
    }

    progress(`dispatcher: ${cfg.dispatchTasks} tasks, then ${cfg.idleMs / 1000} s idle`);
    const dispatch: DispatchResult = await dispatchBench(
      BIN,
      join(dir, "dispatch"),
      cfg.dispatchTasks,
      cfg.idleMs,
    );
    const loadDuring = othersBusy(run0, cpuSnapshot());

    const pg = await pgBench({
      bin: BIN,
      dir,
      parent: args.dir,
      cfg: args.quick ? PG_QUICK : PG_FULL,
      progress,
    });

    const listOk = smallTimes.list.median < LIST_TARGET_MS;
    const dispatchOk = dispatch.latency.median < DISPATCH_TARGET_MS;
    const racesOk = raceClaims.duplicates === 0 && raceCycles.duplicates === 0;
    const mixOf = (s: Seeded) => `${int(s.tasks)} tasks, ${bytes(s.size)}: ${s.mix}`;
    const boardRows = (t: BoardTimes) => [
      row(
        `list --json (${int(t.seeded.tasks)} tasks)`,
        ...latency(t.list),
        rawTx(t.list.median, raw),
        `out ${bytes(t.listBytes)}`,
        ...(t === smallTimes ? [`target < ${LIST_TARGET_MS} ms  ${listOk ? "OK" : "MISSED"}`] : []),
      ),
      row(
        `show <id> --json (${int(t.seeded.tasks)}; ${t.seeded.showChildren} children)`,
        ...latency(t.show),
        rawTx(t.show.median, raw),
        `out ${bytes(t.showBytes)}`,
      ),
    ];
    const raceRow = (label: string, r: RaceResult, unit: string, tx: number) =>
      row(
        label,
        rate(r, unit),
        `(${int(r.n)}, ${int(r.spread[0])}-${int(r.spread[1])} per process)`,
        `duplicates ${r.duplicates}`,
        ratio(r.perSecond, raw, tx),
      );
    const lat = dispatch.latency;
    const out = [
      `kanban bench, ${new Date().toISOString().slice(0, 10)}${args.quick ? " (--quick)" : ""}`,
      `  cpu      ${facts.cpu}, ${facts.cores} logical cores, ${facts.memory} RAM`,
      `  kernel   ${facts.kernel}`,
      `  binary   ${facts.binary}, ${facts.binarySize}` +
      (BIN === join(ROOT, "dist", "kanban") ? "" : ` (${BIN})`),
      `  bench    ${facts.runtime} (SQLite ${facts.runtimeSqlite}) runs the Store API figures`,
      `  disk     ${facts.disk}`,
      `  pragmas  journal_mode=${pragmas.journal_mode} synchronous=${pragmas.synchronous} ` +
      `(1 = NORMAL) foreign_keys=${pragmas.foreign_keys}`,
      `  load     other programs kept busy ${loadBefore} in the second before the run, ` +
      `${loadDuring} on average during it (up to the PostgreSQL section, which has its own); ` +
      "load average at the end " +
      loadavg().map((x) => x.toFixed(2)).join(" "),
      `  boards   seeded in ${seededSmall.seconds.toFixed(1)} s, ${mixOf(seededSmall)}`,
      `           grown in ${(seededBig.seconds - seededSmall.seconds).toFixed(1)} s more, ` +
      mixOf(seededBig),
      "",
      "reference",
      row(
        "raw INSERT tx (node:sqlite, WAL, NORMAL)",
        rate(raw, "tx/s"),
        `(${int(raw.n)} tx, ${(1_000_000 / raw.perSecond).toFixed(1)} µs each)`,
        "1.00x raw",
      ),
      "writes, Store API in one process",
      row(
        "create, one task per transaction",
        rate(creates, "tasks/s"),
        `(${int(creates.n)} tasks)`,
        ratio(creates.perSecond, raw),
      ),
      row(
        `create, batched ${int(BATCH)} per transaction`,
        rate(batches, "tasks/s"),
        `(${int(batches.n)} tasks)`,
        ratio(batches.perSecond, raw),
      ),
      row(
        `claim + complete, ${int(cfg.creates)} ready queued`,
        rate(claims, "cycles/s"),
        `(${int(claims.n)} cycles = ${int(claims.perSecond * 2)} tx/s)`,
        ratio(claims.perSecond, raw, 2),
      ),
      row(
        `claim + complete, ${int(SHORT_QUEUE)} ready queued (drained)`,
        rate(shortClaims, "cycles/s"),
        `(${int(shortClaims.n)} cycles = ${int(shortClaims.perSecond * 2)} tx/s)`,
        ratio(shortClaims.perSecond, raw, 2),
      ),
      row(
        "claim + complete as a dispatcher, no budgets",
        rate(budgets.plain, "cycles/s"),
        `(${int(budgets.plain.n)} cycles)`,
        ratio(budgets.plain.perSecond, raw, 2),
      ),
      row(
        "claim + complete as a dispatcher, 3 hard budgets",
        rate(budgets.budgeted, "cycles/s"),
        `(${int(budgets.budgeted.n)} cycles; ${
          ((budgets.budgeted.perSecond / budgets.plain.perSecond - 1) * 100).toFixed(1)
        }% vs no budgets)`,
        ratio(budgets.budgeted.perSecond, raw, 2),
      ),
      row(
        "a pass's budget judgement (3 budgets)",
        `${budgets.holds.median.toFixed(2)} ms median`,
        `(p90 ${budgets.holds.p90.toFixed(2)} ms, once per dispatcher pass)`,
        "",
      ),
      row(
        `claim + complete, ${int(big)}-task board`,
        rate(bigClaims, "cycles/s"),
        `(${int(bigClaims.n)} cycles; ${int(seededBig.scheduled)} scheduled tasks)`,
        ratio(bigClaims.perSecond, raw, 2),
      ),
      "the floor: the driver's statements for these writes alone (node:sqlite, no kanban code)",
      row(
        "create, one task per transaction",
        rate(floor.creates, "tasks/s"),
        `(${int(floor.creates.n)} tasks)`,
        ratio(floor.creates.perSecond, raw),
      ),
      row(
        `claim + complete, ${int(cfg.creates)} ready queued`,
        rate(floor.cycles, "cycles/s"),
        `(${int(floor.cycles.n)} cycles = ${int(floor.cycles.perSecond * 2)} tx/s)`,
        ratio(floor.cycles.perSecond, raw, 2),
      ),
      row(
        "create, on the board without its indexes",
        rate(bare.creates, "tasks/s"),
        `(${int(bare.creates.n)} tasks)`,
        ratio(bare.creates.perSecond, raw),
      ),
      row(
        "claim + complete, without its indexes",
        rate(bare.cycles, "cycles/s"),
        `(${int(bare.cycles.n)} cycles = ${int(bare.cycles.perSecond * 2)} tx/s)`,
        ratio(bare.cycles.perSecond, raw, 2),
      ),
      "writes with synchronous=FULL (each ratio to the raw FULL figure)",
      row(
        "raw INSERT tx (node:sqlite, WAL, FULL)",
        rate(rawFull, "tx/s"),
        `(${int(rawFull.n)} tx, ${(1_000_000 / rawFull.perSecond).toFixed(1)} µs each)`,
        `${(rawFull.perSecond / raw.perSecond).toFixed(2)}x raw NORMAL`,
      ),
      row(
        "create, one task per transaction",
        rate(fullCreates, "tasks/s"),
        `(${int(fullCreates.n)} tasks)`,
        ratio(fullCreates.perSecond, rawFull),
      ),
      row(
        `claim + complete, ${int(fullCreates.n)} ready queued`,
        rate(fullClaims, "cycles/s"),
        `(${int(fullClaims.n)} cycles = ${int(fullClaims.perSecond * 2)} tx/s)`,
        ratio(fullClaims.perSecond, rawFull, 2),
      ),
      `claims, ${RACERS} ${facts.runtime.split(" ")[0]} processes racing for ${
        int(cfg.raceTasks)
      } ready tasks`,
      raceRow("claim only", raceClaims, "claims/s", 1),
      raceRow("claim + complete", raceCycles, "cycles/s", 2),
      "reads, the kanban binary as a whole process",
      ...boardRows(smallTimes),
      ...boardRows(bigTimes),
      row(
        "--version (process start-up floor)",
        ...latency(version.summary),
        rawTx(version.summary.median, raw),
      ),
      row(
        `listTasks() + JSON.stringify (${int(small)}), in ${facts.runtime.split(" ")[0]}`,
        ...latency(inProcess),
        rawTx(inProcess.median, raw),
      ),
      row(
        `usageStats(), 24 h (${int(runs)} runs), in ${facts.runtime.split(" ")[0]}`,
        ...latency(usageWindow),
        rawTx(usageWindow.median, raw),
      ),
      row(
        `usageStats(), the same, all time`,
        ...latency(usageAll),
        rawTx(usageAll.median, raw),
      ),
      "dispatcher, kanban dispatch",
      row(
        `write -> worker start (${dispatch.tasks} tasks)`,
        `p50 ${ms(lat.median).padStart(9)}`,
        `p90 ${ms(lat.p90).padStart(9)}`,
        `p99 ${ms(lat.p99).padStart(9)}`,
        `max ${ms(lat.max)}`,
        rawTx(lat.median, raw),
        `target p50 < ${DISPATCH_TARGET_MS} ms  ${dispatchOk ? "OK" : "MISSED"}`,
      ),
      row(
        "idle dispatcher",
        `RSS ${(dispatch.rssKiB / 1024).toFixed(1)} MiB`,
        `CPU ${dispatch.cpuPct.toFixed(2)}% of one core over ${dispatch.idleMs / 1000} s`,
      ),
      "",
      ...pgRows(pg),
      "",
      `total ${((performance.now() - started) / 1000).toFixed(1)} s`,
    ];
    process.stdout.write(`${out.join("\n")}\n`);
    return listOk && dispatchOk && racesOk && pgOk(pg) ? 0 : 1;
  } finally {
    cleanup();
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
