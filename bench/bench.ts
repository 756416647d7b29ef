/**
 * bench/bench.ts: the figures in docs/performance.md.
 *
 *   deno task bench            full run (10,000-task board, ~30-60 s)
 *   deno task bench --quick    smoke run (2,000 tasks, fewer iterations)
 *
 * Options: --quick, --build (run scripts/build even when dist/kanban exists), --dir PATH
 * (make the temporary folder under PATH instead of the system temp folder; the disk matters).
 *
 * It measures, in a temporary folder it removes at the end:
 *  1. `dist/kanban list --json` and `dist/kanban show <id> --json` on a seeded board, whole
 *     process (spawn, wait, read all stdout), plus the binary's start-up floor (`--version`);
 *  2. task creates and claim+complete cycles per second through the Store API, in process;
 *  3. the raw reference: single-row INSERT transactions per second with node:sqlite on the
 *     same disk with the same pragmas, and each write figure as a ratio to it.
 * The table goes to stdout, progress to stderr. Exit code 1 when a target is missed.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { DatabaseSync } from "node:sqlite";
import { type CreateTaskInput, openStore, type Store } from "../lib/store/mod.ts";
import { runtimeName, sqliteVersion } from "../lib/runtime.ts";
import { bytes, int, ms, prng, summarize, type Summary } from "./_stats.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const BIN = join(ROOT, "dist", "kanban");
const LIST_TARGET_MS = 150;
/** The short queue: a board with this many ready tasks, drained by claim+complete. */
const SHORT_QUEUE = 500;

interface Config {
  tasks: number;
  warmups: number;
  runs: number;
  /** claim+complete: stop after this many cycles or this many seconds. */
  cycles: number;
  cycleSeconds: number;
  /** raw reference: stop after this many transactions or this many seconds. */
  rawTx: number;
  rawSeconds: number;
}

const FULL: Config = {
  tasks: 10_000,
  warmups: 3,
  runs: 30,
  cycles: 20_000,
  cycleSeconds: 5,
  rawTx: 100_000,
  rawSeconds: 3,
};
const QUICK: Config = {
  tasks: 2_000,
  warmups: 1,
  runs: 8,
  cycles: 2_000,
  cycleSeconds: 1,
  rawTx: 20_000,
  rawSeconds: 1,
};

interface Args {
  quick: boolean;
  build: boolean;
  dir: string;
}

function usage(code: number): never {
  (code === 0 ? process.stdout : process.stderr).write(
    "usage: deno run -A bench/bench.ts [--quick] [--build] [--dir PATH]\n",
  );
  process.exit(code);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, build: false, dir: tmpdir() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") args.quick = true;
    else if (a === "--build") args.build = true;
    else if (a === "--dir" && argv[i + 1] !== undefined) args.dir = resolve(argv[++i]!);
    else if (a.startsWith("--dir=")) args.dir = resolve(a.slice(6));
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
// 1. The compiled binary on a seeded board

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
  seconds: number;
  showId: string;
  showChildren: number;
  mix: string;
}

/**
 * seed makes a board of `n` tasks through the Store API: ~3% triage, ~3% scheduled, ~25% with
 * one or two parents (todo until their parents are done), and of the rest about 45% done
 * (claim + complete), 5% running, 2% blocked, the others ready. Assignees, tenants,
 * priorities, bodies of a few hundred characters, and a comment on one task in ten.
 */
async function seed(path: string, n: number): Promise<Seeded> {
  const rng = prng(20261124);
  const store = openStore(path, { create: true });
  const human = { name: "bench" };
  const worker = { name: "bench-worker" };
  const ids: string[] = [];
  const children = new Map<string, number>();
  const assignees = ["coder", "coder", "reviewer", "writer", "orchestrator", null] as const;
  const tenants = ["acme", "globex", "initech", null, null] as const;
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      const r = rng();
      const input: CreateTaskInput = {
        title: `Task ${i + 1}: ${words(rng, 3 + Math.floor(rng() * 5))}`,
        body: body(rng),
        assignee: pick(rng, assignees),
        tenant: pick(rng, tenants),
        priority: Math.floor(rng() * 8) - 2,
      };
      let root = true;
      if (r < 0.03) {
        input.triage = true;
        root = false;
      } else if (r < 0.06) {
        input.not_before = Date.now() + 86_400_000;
        root = false;
      } else if (r < 0.31 && ids.length > 10) {
        const window = ids.slice(-200);
        const parents = new Set([pick(rng, window)]);
        if (rng() < 0.3) parents.add(pick(rng, window));
        input.parents = [...parents];
        for (const p of parents) children.set(p, (children.get(p) ?? 0) + 1);
        root = false;
      }
      const { task } = await store.createTask(input, human);
      ids.push(task.id);
      if (rng() < 0.1) await store.comment(task.id, `Note: ${words(rng, 12)}.`, human);
      if (!root) continue;
      const fate = rng();
      if (fate >= 0.52) continue; // stays ready
      const claim = await store.claim({ taskId: task.id }, worker);
      if (!claim) throw new Error(`could not claim ${task.id}`);
      const fenced = { name: worker.name, token: claim.token };
      if (fate < 0.45) {
        await store.complete(task.id, { summary: `Done: ${words(rng, 10)}.` }, fenced);
      } else if (fate >= 0.5) {
        await store.block(task.id, `Question: ${words(rng, 8)}?`, fenced);
      } // else: left running
    }
    const stats = await store.stats();
    const mix = Object.entries(stats.by_status)
      .filter(([, count]) => count > 0)
      .map(([status, count]) => `${status} ${int(count)}`)
      .join(", ");
    // show: the task with the most children (a heavy but real detail view).
    let showId = ids[0]!;
    let showChildren = 0;
    for (const [id, count] of children) {
      if (count > showChildren) [showId, showChildren] = [id, count];
    }
    return { seconds: (performance.now() - t0) / 1000, showId, showChildren, mix };
  } finally {
    store.close();
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
  cfg: Config,
): Promise<{ summary: Summary; last: Buffer }> {
  for (let i = 0; i < cfg.warmups; i++) await runBinary(args, env);
  const samples: number[] = [];
  let last: Buffer = Buffer.alloc(0);
  for (let i = 0; i < cfg.runs; i++) {
    const r = await runBinary(args, env);
    samples.push(r.ms);
    last = r.stdout;
  }
  return { summary: summarize(samples), last };
}

/** timeInProcess times `fn` (sync or async) `runs` times after `warmups`, in ms. */
async function timeInProcess(fn: () => unknown, cfg: Config): Promise<Summary> {
  for (let i = 0; i < cfg.warmups; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < cfg.runs; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return summarize(samples);
}

// ---------------------------------------------------------------------------------------------
// 2. Store API write rates, and 3. the raw node:sqlite reference

async function createRate(store: Store, n: number): Promise<{ perSecond: number; n: number }> {
  const actor = { name: "bench" };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await store.createTask(
      { title: `cycle task ${i + 1}`, body: "Claim me, then complete me.", assignee: "coder" },
      actor,
    );
  }
  return { perSecond: n / ((performance.now() - t0) / 1000), n };
}

/** cycleRate claims the best ready task and completes it, until `max` cycles or `seconds`. */
async function cycleRate(
  store: Store,
  max: number,
  seconds: number,
): Promise<{ perSecond: number; n: number }> {
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

/** rawInsertRate: BEGIN IMMEDIATE; one INSERT; COMMIT, in a loop, with the store's pragmas. */
function rawInsertRate(path: string, cfg: Config): { perSecond: number; n: number } {
  const db = new DatabaseSync(path);
  try {
    db.exec("PRAGMA busy_timeout = 10000");
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
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

function row(label: string, ...cells: string[]): string {
  return `${label.padEnd(48)}${cells.join("  ")}`;
}

function latency(s: Summary): string[] {
  return [
    `median ${ms(s.median).padStart(8)}`,
    `p90 ${ms(s.p90).padStart(8)}`,
    `min ${ms(s.min).padStart(8)}`,
  ];
}

function ratio(x: number, ref: number): string {
  return `${(x / ref).toFixed(2)}x raw`;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const cfg = args.quick ? QUICK : FULL;
  const started = performance.now();
  ensureBinary(args.build);

  const dir = mkdtempSync(join(args.dir, "kanban-bench-"));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.on("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    const facts = machine(dir);
    const env = childEnv(join(dir, "home"));
    const board = join(dir, "board.db");

    progress(`seeding ${int(cfg.tasks)} tasks through the Store API`);
    const seeded = await seed(board, cfg.tasks);

    progress(`timing dist/kanban (${cfg.warmups} warm-ups + ${cfg.runs} runs each)`);
    const version = await timeBinary(["--version"], env, cfg);
    const list = await timeBinary(["--db", board, "list", "--json"], env, cfg);
    const listed = JSON.parse(list.last.toString("utf8")) as unknown[];
    if (!Array.isArray(listed) || listed.length !== cfg.tasks) {
      throw new Error(`list --json returned ${listed.length} tasks, expected ${cfg.tasks}`);
    }
    const show = await timeBinary(["--db", board, "show", seeded.showId, "--json"], env, cfg);

    const reader = openStore(board);
    let inProcess: Summary;
    try {
      inProcess = await timeInProcess(
        async () => JSON.stringify(await reader.listTasks()).length,
        cfg,
      );
    } finally {
      reader.close();
    }

    progress(`creating ${int(cfg.cycles)} ready tasks, then claim+complete cycles`);
    const cycles = openStore(join(dir, "cycles.db"), { create: true });
    let creates: { perSecond: number; n: number };
    let claims: { perSecond: number; n: number };
    let pragmas: Awaited<ReturnType<Store["pragmas"]>>;
    try {
      pragmas = await cycles.pragmas();
      creates = await createRate(cycles, cfg.cycles);
      claims = await cycleRate(cycles, cfg.cycles, cfg.cycleSeconds);
    } finally {
      cycles.close();
    }
    const short = openStore(join(dir, "short.db"), { create: true });
    let shortClaims: { perSecond: number; n: number };
    try {
      await createRate(short, SHORT_QUEUE);
      shortClaims = await cycleRate(short, SHORT_QUEUE, cfg.cycleSeconds);
    } finally {
      short.close();
    }

    progress("raw node:sqlite INSERT transactions");
    const raw = rawInsertRate(join(dir, "raw.db"), cfg);

    const listOk = list.summary.median < LIST_TARGET_MS;
    const out = [
      `kanban bench, ${new Date().toISOString().slice(0, 10)}${args.quick ? " (--quick)" : ""}`,
      `  cpu      ${facts.cpu}, ${facts.cores} logical cores, ${facts.memory} RAM`,
      `  kernel   ${facts.kernel}`,
      `  binary   ${facts.binary}, ${facts.binarySize}`,
      `  bench    ${facts.runtime} (SQLite ${facts.runtimeSqlite}) runs the Store API figures`,
      `  disk     ${facts.disk}`,
      `  pragmas  journal_mode=${pragmas.journal_mode} synchronous=${pragmas.synchronous} ` +
      `(1 = NORMAL) foreign_keys=${pragmas.foreign_keys}`,
      `  board    ${int(cfg.tasks)} tasks seeded in ${seeded.seconds.toFixed(1)} s: ${seeded.mix}`,
      "",
      row(
        `list --json (${int(cfg.tasks)} tasks)`,
        ...latency(list.summary),
        `out ${bytes(list.last.length)}`,
        `target < ${LIST_TARGET_MS} ms  ${listOk ? "OK" : "MISSED"}`,
      ),
      row(
        `show <id> --json (${seeded.showChildren} children)`,
        ...latency(show.summary),
        `out ${bytes(show.last.length)}`,
      ),
      row("--version (process start-up floor)", ...latency(version.summary)),
      row(
        `listTasks() + JSON.stringify, in ${facts.runtime.split(" ")[0]}`,
        ...latency(inProcess),
      ),
      row(
        "create, one task per transaction",
        `${int(creates.perSecond).padStart(7)} tasks/s`,
        `(${int(creates.n)} tasks)`,
        ratio(creates.perSecond, raw.perSecond),
      ),
      row(
        `claim + complete, ${int(cfg.cycles)} ready queued`,
        `${int(claims.perSecond).padStart(7)} cycles/s`,
        `(${int(claims.n)} cycles = ${int(claims.perSecond * 2)} tx/s)`,
        ratio(claims.perSecond * 2, raw.perSecond),
      ),
      row(
        `claim + complete, ${int(SHORT_QUEUE)} ready queued (drained)`,
        `${int(shortClaims.perSecond).padStart(7)} cycles/s`,
        `(${int(shortClaims.n)} cycles = ${int(shortClaims.perSecond * 2)} tx/s)`,
        ratio(shortClaims.perSecond * 2, raw.perSecond),
      ),
      row(
        "raw INSERT tx (node:sqlite, WAL, NORMAL)",
        `${int(raw.perSecond).padStart(7)} tx/s`,
        `(${int(raw.n)} tx)`,
        "1.00x raw",
      ),
      "",
      `total ${((performance.now() - started) / 1000).toFixed(1)} s`,
    ];
    process.stdout.write(`${out.join("\n")}\n`);
    return listOk ? 0 : 1;
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
