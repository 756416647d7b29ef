/**
 * The PostgreSQL driver's board transfer (lib/store/driver/transfer.ts says what each operation
 * does): keyset pages over each table, multi-row inserts that keep the given ids, and the
 * identity sequences behind the integer ids.
 *
 * Rows come back as the SQLite driver returns them: BIGINT columns as numbers (the pool's
 * types, lib/store/postgres/_sql.ts), JSON columns as their stored text, byte for byte. Every
 * text column is COLLATE "C" (migration 001), so `id > $1` and the ORDER BY compare bytes, as
 * SQLite's BINARY collation does, and both drivers page in the same order.
 */
import { Buffer } from "node:buffer";
import type {
  SequencedKind,
  Sequences,
  TransferKind,
  TransferQueries,
  TransferRows,
} from "../driver/transfer.ts";
import { count, first, type Tx } from "./_sql.ts";
import { KEY_OF } from "../_transfer_format.ts";

/** Each kind's table and columns, in the order the migrations made them (SQLite's order). */
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

/** The table whose identity column each sequence feeds (all of them named `id`). */
const SEQUENCED: Record<SequencedKind, string> = {
  run: "task_runs",
  comment: "task_comments",
  attachment: "task_attachments",
  event: "task_events",
  subscription: "subscriptions",
};

/**
 * The constraint behind `tasks.current_run_id` (migration 001's foreign key, made DEFERRABLE by
 * migration 002): an import inserts a running task before its run.
 */
const CURRENT_RUN_FK = "tasks_current_run_id_fkey";

type Row = Record<string, unknown>;

function page(t: Tx, kind: TransferKind, after: Row | null, limit: number): Promise<Row[]> {
  const { table, columns } = TABLES[kind];
  const select = `SELECT ${columns.join(", ")} FROM ${table}`;
  const n = count(limit);
  if (kind === "link") {
    if (after === null) {
      return t.unsafe(`${select} ORDER BY parent_id, child_id LIMIT $1`, [n], { prepare: true });
    }
    return t.unsafe(
      `${select} WHERE (parent_id, child_id) > ($1, $2) ORDER BY parent_id, child_id LIMIT $3`,
      [after["parent_id"] as string, after["child_id"] as string, n],
      { prepare: true },
    );
  }
  const key = KEY_OF[kind] ?? "id";
  if (after === null) {
    return t.unsafe(`${select} ORDER BY ${key} LIMIT $1`, [n], { prepare: true });
  }
  return t.unsafe(`${select} WHERE ${key} > $1 ORDER BY ${key} LIMIT $2`, [
    after[key] as string | number,
    n,
  ], { prepare: true });
}

async function insert(t: Tx, kind: TransferKind, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  const { table, columns } = TABLES[kind];
  // A running task names its open run, which the import inserts after the tasks (runs name
  // their task): the check of that key waits for the commit. SET CONSTRAINTS ends with the
  // transaction.
  if (kind === "task") await t.unsafe(`SET CONSTRAINTS ${CURRENT_RUN_FK} DEFERRED`);
  // One statement per batch: the ids (and every other column) exactly as given; an identity
  // column GENERATED BY DEFAULT takes them, and its sequence is moved past them afterwards
  // (transferAdvanceSequences).
  const params: (string | number | Buffer | null)[] = [];
  const tuples = rows.map((row) =>
    `(${
      columns.map((c) => {
        const v = row[c] ?? null;
        params.push(
          v instanceof Uint8Array
            ? Buffer.from(v.buffer, v.byteOffset, v.byteLength)
            : v as string | number | null,
        );
        return `$${params.length}`;
      }).join(", ")
    })`
  );
  await t.unsafe(
    `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${tuples.join(", ")}`,
    params,
  );
}

/**
 * sequences reads each identity sequence's state: pg_sequence_last_value() is the largest value
 * it has handed out, NULL while it has handed out none. This is the sequence's own state, not
 * max(id): the ids of deleted rows (pruned events, removed subscriptions) and of rolled-back
 * inserts stay used up, as they do in SQLite's sqlite_sequence.
 */
async function sequences(t: Tx): Promise<Sequences> {
  const out = {} as Sequences;
  for (const [kind, table] of Object.entries(SEQUENCED) as [SequencedKind, string][]) {
    const row = await first(t<{ last: number | null }[]>`
      SELECT pg_sequence_last_value(pg_get_serial_sequence(${table}, 'id')::regclass)::bigint
        AS last`);
    out[kind] = row?.last ?? 0;
  }
  return out;
}

/** advance moves each sequence to at least the given value (never back). */
async function advance(t: Tx, to: Sequences): Promise<void> {
  for (const [kind, table] of Object.entries(SEQUENCED) as [SequencedKind, string][]) {
    const seq = to[kind];
    if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`Invalid sequence value: ${seq}`);
    if (seq === 0) continue; // nothing handed out: the sequence stays where it is
    // setval(..., true): the next nextval() hands out the value after it. greatest() keeps a
    // sequence that is already further on where it is.
    await t`SELECT setval(s.seq, greatest(coalesce(pg_sequence_last_value(s.seq), 0),
        ${seq}::bigint), true)
      FROM (SELECT pg_get_serial_sequence(${table}, 'id')::regclass AS seq) s`;
  }
}

export function transferQueries(t: Tx): TransferQueries {
  return {
    transferPage: async <K extends TransferKind>(
      kind: K,
      after: TransferRows[K] | null,
      limit: number,
    ) => (await page(t, kind, after as Row | null, limit)) as unknown as TransferRows[K][],
    transferInsert: (kind, rows) => insert(t, kind, rows as unknown as readonly Row[]),
    transferCounts: async () => {
      const [row] = await t.unsafe<Record<TransferKind, number>[]>(
        `SELECT ${
          (Object.entries(TABLES) as [TransferKind, typeof TABLES.task][])
            .map(([kind, { table }]) => `(SELECT count(*) FROM ${table}) AS ${kind}`).join(", ")
        }`,
      );
      return { ...row! };
    },
    transferSequences: () => sequences(t),
    transferAdvanceSequences: (to) => advance(t, to),
  };
}
