/**
 * The floor under the Store's write figures: the statements the SQLite driver sends for a
 * create, a claim and a completion (copied here as it sends them, lib/store/sqlite/core.ts),
 * run straight on node:sqlite on a board made by the Store (its schema, indexes and
 * pragmas), with none of kanban's own code: no validation, no row mapping, no promises. What
 * the Store adds is the distance between its figure and this one; what the schema costs is
 * the distance between this one and the raw reference.
 *
 * Also `writtenPages`: which B-trees (tables and indexes) one create, claim and completion
 * append to the write-ahead log, from the log's frame headers and the `dbstat` table.
 *
 *   deno task bench:floor           the floor and the pages, on a board of 20,000 ready tasks
 *   deno task bench:floor --quick   on 2,000
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { openStore } from "../lib/store/mod.ts";
import { int, type Rate } from "./_stats.ts";

const ACTOR = "bench-worker";

/** readyBoard makes a board of `n` ready tasks through the Store, 1,000 per transaction. */
export async function readyBoard(path: string, n: number): Promise<void> {
  const store = openStore(path, { create: true });
  try {
    for (let i = 0; i < n; i += 1_000) {
      const inputs = [];
      for (let j = i; j < Math.min(n, i + 1_000); j++) {
        inputs.push({
          title: `ready task ${j}`,
          body: "Claim me, then complete me.",
          assignee: "coder",
        });
      }
      await store.createTasks(inputs, { name: "bench" });
    }
  } finally {
    store.close();
  }
}

/**
 * connect opens a database file with the Store's pragmas (lib/store/sqlite/db.ts): WAL,
 * `synchronous` NORMAL (or FULL), foreign keys on, a busy timeout.
 */
export function connect(path: string, synchronous: "NORMAL" | "FULL" = "NORMAL"): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA busy_timeout = 10000");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${synchronous}`);
  db.exec("PRAGMA foreign_keys = ON");
  return db;
}

/** One BEGIN IMMEDIATE ... COMMIT, as Db.tx runs every write. */
function tx<T>(db: DatabaseSync, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}

/** The driver's statements for a create, a claim and a completion, prepared once. */
class Writes {
  readonly #insertTask: StatementSync;
  readonly #event: StatementSync;
  readonly #due: StatementSync;
  readonly #best: StatementSync;
  readonly #openRun: StatementSync;
  readonly #claimTask: StatementSync;
  readonly #runOfToken: StatementSync;
  readonly #task: StatementSync;
  readonly #closeRun: StatementSync;
  readonly #completeTask: StatementSync;
  readonly #children: StatementSync;

  readonly #bare: boolean;
  #after = 0;

  /** With `bare`, the board has no index of its own (dropIndexes): claims take rowid order. */
  constructor(db: DatabaseSync, bare = false) {
    this.#bare = bare;
    this.#insertTask = db.prepare(
      `INSERT INTO tasks (id, title, body, assignee, status, priority, tenant, created_by,
         created_at, updated_at, workspace_kind, workspace_path, skills, max_runtime_seconds,
         not_before, review_required, idempotency_key, needs, reviewer, review_rounds, gate,
         gate_timeout_ms, gate_rounds)
       VALUES (?, ?, ?, ?, 'ready', 0, NULL, ?, ?, ?, 'scratch', NULL, '[]', NULL, NULL, 0,
         NULL, '[]', NULL, NULL, NULL, NULL, NULL)`,
    );
    this.#event = db.prepare(
      `INSERT INTO task_events (task_id, run_id, kind, actor, data, at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING *`,
    );
    this.#due = db.prepare(
      bare
        ? "SELECT id FROM tasks WHERE rowid < 0 AND not_before <= ?"
        : `SELECT id FROM tasks INDEXED BY tasks_scheduled
           WHERE status = 'scheduled' AND not_before <= ? ORDER BY not_before`,
    );
    this.#best = db.prepare(
      bare
        ? `SELECT rowid AS at, * FROM tasks
           WHERE rowid > ? AND status = 'ready' AND (retry_after IS NULL OR retry_after <= ?)
           ORDER BY rowid LIMIT 1`
        : `SELECT ? AS at, * FROM tasks INDEXED BY tasks_board
           WHERE status = 'ready' AND (retry_after IS NULL OR retry_after <= ?)
           ORDER BY priority DESC, created_at, id LIMIT 1`,
    );
    this.#openRun = db.prepare(
      `INSERT INTO task_runs (task_id, profile, claimed_by, lease_token, lease_ms,
         lease_expires, host, pid, started_at)
       VALUES (?, ?, ?, ?, ?, ?, NULL, NULL, ?) RETURNING *`,
    );
    this.#claimTask = db.prepare(
      `UPDATE tasks SET current_run_id = ?, started_at = ?, status = 'running', updated_at = ?
       WHERE id = ? AND status = 'ready' RETURNING *`,
    );
    this.#runOfToken = db.prepare("SELECT * FROM task_runs WHERE lease_token = ?");
    this.#task = db.prepare("SELECT * FROM tasks WHERE id = ?");
    this.#closeRun = db.prepare(
      `UPDATE task_runs SET ended_at = ?, outcome = 'completed', lease_expires = NULL,
         summary = ?, metadata = NULL, error = NULL, usage = coalesce(NULL, usage)
       WHERE id = ? AND ended_at IS NULL RETURNING *`,
    );
    this.#completeTask = db.prepare(
      `UPDATE tasks SET current_run_id = NULL, completed_at = ?, result = NULL,
         blocked_reason = NULL, consecutive_failures = 0, retry_after = NULL, last_error = NULL,
         block_kind = NULL, blocked_on = NULL, block_counts = '{}', status = 'done',
         updated_at = ?
       WHERE id = ? AND status = 'running' RETURNING *`,
    );
    this.#children = db.prepare(
      "SELECT child_id FROM task_links WHERE parent_id = ? ORDER BY child_id",
    );
  }

  /** A create, with a fresh random id as the Store makes (drawn again when taken, as it does). */
  create(db: DatabaseSync, i: number): void {
    const now = Date.now();
    for (let attempt = 1;; attempt++) {
      const id = `t_${randomBytes(4).toString("hex")}`;
      try {
        tx(db, () => {
          this.#insertTask.run(id, `floor create ${i}`, "", "coder", "bench", now, now);
          this.#event.get(id, null, "created", "bench", `{"status":"ready"}`, now);
        });
        return;
      } catch (err) {
        if (attempt >= 5 || !/UNIQUE constraint failed: tasks\.id/.test(String(err))) throw err;
      }
    }
  }

  /** claim and complete the best ready task; false when none is left. */
  cycle(db: DatabaseSync): boolean {
    const now = Date.now();
    const token = randomBytes(24).toString("base64url");
    const claimed = tx(db, () => {
      this.#due.all(now);
      const task = this.#best.get(this.#after, now) as { id: string; at: number } | undefined;
      if (task === undefined) return undefined;
      if (this.#bare) this.#after = task.at;
      const run = this.#openRun.get(
        task.id,
        "coder",
        ACTOR,
        token,
        900_000,
        now + 900_000,
        now,
      ) as {
        id: number;
      };
      this.#claimTask.get(run.id, now, now, task.id);
      this.#event.get(task.id, run.id, "claimed", ACTOR, `{"from":"ready","to":"running"}`, now);
      return task.id;
    });
    if (claimed === undefined) return false;
    tx(db, () => {
      const run = this.#runOfToken.get(token) as { id: number };
      this.#task.get(claimed);
      this.#closeRun.get(now, "ok", run.id);
      this.#completeTask.get(now, now, claimed);
      this.#children.all(claimed);
      this.#event.get(
        claimed,
        run.id,
        "completed",
        ACTOR,
        `{"from":"running","to":"done","summary":"ok"}`,
        now,
      );
    });
    return true;
  }
}

/**
 * dropIndexes drops every index the migrations made (the keys' own indexes stay: a task's id,
 * a run's lease token): what a claim and a completion would write with no index to keep.
 */
function dropIndexes(db: DatabaseSync): void {
  const made = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    .all();
  for (const r of made) db.exec(`DROP INDEX ${String(r.name)}`);
}

/** timed runs `step` until `max` times, `seconds` or it returns false; the rate it kept. */
function timed(max: number, seconds: number, step: (i: number) => boolean | void): Rate {
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let n = 0;
  while (n < max && (n % 64 !== 0 || performance.now() < deadline)) {
    if (step(n) === false) break;
    n++;
  }
  return { perSecond: n / ((performance.now() - t0) / 1000), n };
}

/**
 * floorRates: creates one per transaction, then claim + complete cycles, with the driver's
 * statements alone on a fresh board of `tasks` ready tasks made by the Store. With `bare`,
 * on a board without its indexes (dropIndexes): the bound on any choice of indexes.
 */
export async function floorRates(
  dir: string,
  tasks: number,
  seconds: number,
  bare = false,
): Promise<{ creates: Rate; cycles: Rate }> {
  const path = join(dir, bare ? "floor-bare.db" : "floor.db");
  await readyBoard(path, tasks);
  const db = connect(path);
  try {
    if (bare) dropIndexes(db);
    const w = new Writes(db, bare);
    const creates = timed(tasks, seconds, (i) => w.create(db, i));
    const cycles = timed(tasks, seconds, () => w.cycle(db));
    return { creates, cycles };
  } finally {
    db.close();
  }
}

/**
 * writtenPages makes `n` of each write (create, claim, completion) through the Store on a
 * board of 3,000 ready tasks, each after emptying the log, and returns for each kind of write
 * the average number of log frames it appended by B-tree, read from the frames' page numbers
 * and `dbstat` (sqlite_schema is page 1, whose header changes when the file grows).
 */
export async function writtenPages(
  dir: string,
  n = 40,
): Promise<Record<string, Record<string, number>>> {
  const path = join(dir, "pages.db");
  await readyBoard(path, 3_000);
  const store = openStore(path);
  const db = connect(path);
  const FRAME = 24 + 4096;
  const out: Record<string, Record<string, number>> = {};
  const count = async (kind: string, op: () => Promise<unknown>) => {
    db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get();
    await op();
    const wal = readFileSync(`${path}-wal`);
    const tree = new Map<number, string>();
    for (const r of db.prepare("SELECT name, pageno FROM dbstat").all()) {
      tree.set(Number(r.pageno), String(r.name));
    }
    const tally = (out[kind] ??= {});
    for (let at = 32; at + FRAME <= wal.length; at += FRAME) {
      const name = tree.get(wal.readUInt32BE(at)) ?? "(free page)";
      tally[name] = (tally[name] ?? 0) + 1 / n;
    }
  };
  try {
    const claims: { id: string; token: string }[] = [];
    const worker = { name: ACTOR };
    for (let i = 0; i < n; i++) {
      await count(
        "create",
        () => store.createTask({ title: `new ${i}`, assignee: "coder" }, worker),
      );
    }
    for (let i = 0; i < n; i++) {
      await count("claim", async () => {
        const c = await store.claim({}, worker);
        if (c === null) throw new Error("nothing to claim");
        claims.push({ id: c.task.id, token: c.token });
      });
    }
    for (const c of claims) {
      await count(
        "complete",
        () => store.complete(c.id, { summary: "ok" }, { name: ACTOR, token: c.token }),
      );
    }
    return out;
  } finally {
    db.close();
    store.close();
  }
}

/** pagesText is writtenPages as lines: `claim 11.3 = task_runs 1.0, tasks_board 2.1, ...`. */
export function pagesText(pages: Record<string, Record<string, number>>): string[] {
  return Object.entries(pages).map(([kind, tally]) => {
    const total = Object.values(tally).reduce((a, b) => a + b, 0);
    const parts = Object.entries(tally).sort((a, b) => b[1] - a[1])
      .map(([name, frames]) => `${name} ${frames.toFixed(2)}`);
    return `${kind.padEnd(9)} ${total.toFixed(1).padStart(5)} frames = ${parts.join(", ")}`;
  });
}

if (import.meta.main) {
  const quick = process.argv.includes("--quick");
  const dir = mkdtempSync(join(tmpdir(), "kanban-floor-"));
  try {
    const tasks = quick ? 2_000 : 20_000;
    for (const bare of [false, true]) {
      const { creates, cycles } = await floorRates(dir, tasks, quick ? 1 : 5, bare);
      console.log(
        `on a board of ${int(tasks)} ready tasks${
          bare ? " without its indexes" : ""
        }, the driver's statements alone:`,
      );
      console.log(`create, one per transaction   ${int(creates.perSecond)} tasks/s`);
      console.log(`claim + complete              ${int(cycles.perSecond)} cycles/s`);
    }
    console.log("write-ahead log frames per write (40 of each, a board of 3,000 tasks):");
    for (const line of pagesText(await writtenPages(dir))) console.log(line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
