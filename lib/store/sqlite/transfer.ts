/**
 * The SQLite driver's board transfer (lib/store/driver/transfer.ts says what each operation
 * does): keyset pages over each table, inserts that keep the given ids, and the AUTOINCREMENT
 * sequences of sqlite_sequence.
 */
import type {
  SequencedKind,
  Sequences,
  TransferKind,
  TransferQueries,
  TransferRows,
} from "../driver/transfer.ts";
import type { Db, Param } from "./db.ts";
import { KEY_OF } from "../_transfer_format.ts";

/** Each kind's table and columns, in the order the migrations made them. */
const TABLES: Record<TransferKind, { table: string; columns: readonly string[] }> = {
  task: {
    table: "tasks",
    columns: [
      "id",
      "title",
      "body",
      "assignee",
      "status",
      "priority",
      "tenant",
      "created_by",
      "created_at",
      "updated_at",
      "started_at",
      "completed_at",
      "workspace_kind",
      "workspace_path",
      "skills",
      "max_runtime_seconds",
      "not_before",
      "review_required",
      "idempotency_key",
      "consecutive_failures",
      "retry_after",
      "last_error",
      "blocked_reason",
      "current_run_id",
      "result",
      "archived_from",
      "needs",
      "block_kind",
      "blocked_on",
      "block_counts",
      "reviewer",
      "review_rounds",
      "gate",
      "gate_timeout_ms",
      "gate_rounds",
    ],
  },
  link: { table: "task_links", columns: ["parent_id", "child_id", "created_at"] },
  run: {
    table: "task_runs",
    columns: [
      "id",
      "task_id",
      "profile",
      "claimed_by",
      "lease_token",
      "lease_ms",
      "lease_expires",
      "heartbeat_at",
      "host",
      "pid",
      "pid_start_time",
      "started_at",
      "ended_at",
      "exit_code",
      "signal",
      "outcome",
      "summary",
      "metadata",
      "error",
      "log_path",
      "usage",
      "workspace",
      "gate_handoff",
    ],
  },
  comment: {
    table: "task_comments",
    columns: ["id", "task_id", "run_id", "author", "body", "created_at"],
  },
  attachment: {
    table: "task_attachments",
    columns: [
      "id",
      "task_id",
      "run_id",
      "name",
      "media_type",
      "size",
      "sha256",
      "content",
      "created_by",
      "created_at",
    ],
  },
  event: {
    table: "task_events",
    columns: ["id", "task_id", "run_id", "kind", "actor", "data", "at"],
  },
  subscription: {
    table: "subscriptions",
    columns: [
      "id",
      "kind",
      "target",
      "secret",
      "task_id",
      "tenant",
      "assignee",
      "kinds",
      "cursor",
      "failures",
      "next_attempt_at",
      "last_error",
      "delivered",
      "disabled_at",
      "ended_at",
      "created_by",
      "created_at",
    ],
  },
  routine: {
    table: "routines",
    columns: [
      "id",
      "name",
      "cron",
      "tz",
      "spec",
      "template",
      "catch_up",
      "max_catch_up",
      "paused",
      "next_at",
      "last_at",
      "fired",
      "created_by",
      "created_at",
      "updated_at",
    ],
  },
  budget: {
    table: "budgets",
    columns: [
      "name",
      "scope",
      "target",
      "metric",
      "cap",
      "period",
      "hours",
      "hard",
      "noted_window",
      "created_by",
      "created_at",
    ],
  },
};

const SEQUENCED: Record<SequencedKind, string> = {
  run: "task_runs",
  comment: "task_comments",
  attachment: "task_attachments",
  event: "task_events",
  subscription: "subscriptions",
};

function page(db: Db, kind: TransferKind, after: Record<string, unknown> | null, limit: number) {
  const { table, columns } = TABLES[kind];
  const select = `SELECT ${columns.join(", ")} FROM ${table}`;
  if (kind === "link") {
    if (after === null) {
      return db.all(`${select} ORDER BY parent_id, child_id LIMIT ?`, limit);
    }
    return db.all(
      `${select} WHERE (parent_id, child_id) > (?, ?) ORDER BY parent_id, child_id LIMIT ?`,
      after["parent_id"] as string,
      after["child_id"] as string,
      limit,
    );
  }
  const key = KEY_OF[kind] ?? "id";
  if (after === null) return db.all(`${select} ORDER BY ${key} LIMIT ?`, limit);
  return db.all(
    `${select} WHERE ${key} > ? ORDER BY ${key} LIMIT ?`,
    after[key] as Param,
    limit,
  );
}

function insert(db: Db, kind: TransferKind, rows: readonly Record<string, unknown>[]): void {
  const { table, columns } = TABLES[kind];
  // A running task names its open run, which the import inserts after the tasks (runs name
  // their task): the check of that key waits for the commit. The pragma ends with the
  // transaction.
  if (kind === "task") db.exec("PRAGMA defer_foreign_keys = ON");
  const sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${
    columns.map(() => "?").join(", ")
  })`;
  for (const row of rows) db.run(sql, ...columns.map((c) => row[c] as Param));
}

function sequences(db: Db): Sequences {
  const seen = new Map(
    db.all<{ name: string; seq: number }>("SELECT name, seq FROM sqlite_sequence")
      .map((r) => [r.name, Number(r.seq)]),
  );
  const out = {} as Sequences;
  for (const [kind, table] of Object.entries(SEQUENCED) as [SequencedKind, string][]) {
    out[kind] = seen.get(table) ?? 0;
  }
  return out;
}

function advance(db: Db, to: Sequences): void {
  for (const [kind, table] of Object.entries(SEQUENCED) as [SequencedKind, string][]) {
    const seq = to[kind];
    // sqlite_sequence has a row for a table only once something was inserted into it (and no
    // unique key to upsert on).
    const moved = db.run("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", seq, table);
    if (moved.changes === 0 && seq > 0) {
      db.run("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", table, seq);
    }
  }
}

export function transferQueries(db: Db): TransferQueries {
  const ok = <T>(f: () => T): Promise<T> => {
    try {
      return Promise.resolve(f());
    } catch (err) {
      return Promise.reject(err);
    }
  };
  return {
    transferPage: <K extends TransferKind>(
      kind: K,
      after: TransferRows[K] | null,
      limit: number,
    ) =>
      ok(() =>
        page(db, kind, after as Record<string, unknown> | null, limit) as unknown as TransferRows[
          K
        ][]
      ),
    transferInsert: (kind, rows) =>
      ok(() => insert(db, kind, rows as unknown as readonly Record<string, unknown>[])),
    transferCounts: () =>
      ok(() => {
        const out = {} as Record<TransferKind, number>;
        for (
          const [kind, { table }] of Object.entries(TABLES) as [TransferKind, typeof TABLES.task][]
        ) {
          out[kind] = db.get<{ n: number }>(`SELECT count(*) AS n FROM ${table}`)!.n;
        }
        return out;
      }),
    transferSequences: () => ok(() => sequences(db)),
    transferAdvanceSequences: (to) => ok(() => advance(db, to)),
  };
}
