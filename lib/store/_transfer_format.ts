/**
 * The board export format, version 1 (docs/export-format.md): which records a stream holds, in
 * which order, and the fields of each, in the order they are written. The exporter and the
 * importer both check every record against FIELDS, so an export never holds what an import
 * would refuse. Module-private to lib/store.
 */
import type { SequencedKind, TransferKind } from "./driver/transfer.ts";
import { STATUSES } from "./transitions.ts";
import { OUTCOMES } from "./outcomes.ts";
import { BLOCK_KINDS } from "./blocks.ts";
import { BUDGET_METRICS, BUDGET_PERIODS, BUDGET_SCOPES } from "./budgets.ts";

/**
 * FORMAT_VERSION changes whenever a record gains, loses or changes a field. Version 2 added
 * routine, attachment and budget records, the typed-block, reviewer and gate fields of tasks
 * and the gate handoff of runs;
 * version 1 streams import.
 */
export const FORMAT_VERSION = 2;

/** The record types each format version added after version 1: older streams hold none. */
export const ADDED_IN: Readonly<Partial<Record<TransferKind, number>>> = {
  routine: 2,
  attachment: 2,
  budget: 2,
};

/** The key a record type is ordered by when it is not `id` (links: parent_id, child_id). */
export const KEY_OF: Readonly<Partial<Record<TransferKind, string>>> = { budget: "name" };

/**
 * FIELDS_ADDED: the fields each format version added to a record type that version 1 had, with
 * the value a record of an older stream stands for (what the migration that made the column
 * gives an existing row). upgradeRecord fills them in before a record is checked.
 */
export const FIELDS_ADDED: Readonly<
  Partial<Record<TransferKind, readonly { name: string; since: number; value: unknown }[]>>
> = {
  task: [
    { name: "block_kind", since: 2, value: null },
    { name: "blocked_on", since: 2, value: null },
    { name: "block_counts", since: 2, value: "{}" },
    { name: "reviewer", since: 2, value: null },
    { name: "review_rounds", since: 2, value: null },
    { name: "gate", since: 2, value: null },
    { name: "gate_timeout_ms", since: 2, value: null },
    { name: "gate_rounds", since: 2, value: null },
  ],
  run: [{ name: "gate_handoff", since: 2, value: null }],
};

/** upgradeRecord gives a record of a stream of format `version` the fields added since. */
export function upgradeRecord(
  kind: TransferKind,
  record: Record<string, unknown>,
  version: number,
): Record<string, unknown> {
  const added = FIELDS_ADDED[kind];
  if (added === undefined || version >= FORMAT_VERSION) return record;
  const out = { ...record };
  for (const f of added) if (version < f.since && !(f.name in out)) out[f.name] = f.value;
  return out;
}

/** The header's marker: what makes a file a board export at all. */
export const MARKER = "board-export";

/**
 * KINDS in the order a stream holds them: each record names only records before it (a task's
 * current run excepted: the driver checks it at commit), so an import is one pass.
 */
export const KINDS: readonly TransferKind[] = [
  "task",
  "link",
  "run",
  "comment",
  "attachment",
  "event",
  "subscription",
  "routine",
  "budget",
];

export const SEQUENCED: readonly SequencedKind[] = [
  "run",
  "comment",
  "attachment",
  "event",
  "subscription",
];

/** The kinds a stream of format version 1 could not hold: it holds none of them. */
export const SINCE_VERSION_2: readonly TransferKind[] = Object.entries(ADDED_IN)
  .filter(([, v]) => v === 2).map(([k]) => k as TransferKind);

/**
 * What a field holds: `text`, `int` (a safe integer), `number` (a finite number), `task` (a task id), `json` (JSON text of
 * any value), `json_array`/`json_object` (JSON text of that shape), `base64` (bytes, in
 * standard base64 with padding), or one of a list of words.
 */
type Spec =
  | "text"
  | "int"
  | "number"
  | "task"
  | "json"
  | "json_array"
  | "json_object"
  | "base64"
  | readonly string[];

/** A field: its name, what it holds, and whether it may be null. */
type Field = readonly [name: string, spec: Spec, nullable?: "null"];

const TASK_ID = /^t_[0-9a-f]{8}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const FIELDS: Readonly<Record<TransferKind, readonly Field[]>> = {
  task: [
    ["id", "task"],
    ["title", "text"],
    ["body", "text"],
    ["assignee", "text", "null"],
    ["status", STATUSES],
    ["priority", "int"],
    ["tenant", "text", "null"],
    ["created_by", "text"],
    ["created_at", "int"],
    ["updated_at", "int"],
    ["started_at", "int", "null"],
    ["completed_at", "int", "null"],
    ["workspace_kind", ["scratch", "worktree", "dir"]],
    ["workspace_path", "text", "null"],
    ["skills", "json_array"],
    ["max_runtime_seconds", "int", "null"],
    ["not_before", "int", "null"],
    ["review_required", "int"],
    ["idempotency_key", "text", "null"],
    ["consecutive_failures", "int"],
    ["retry_after", "int", "null"],
    ["last_error", "text", "null"],
    ["blocked_reason", "text", "null"],
    ["current_run_id", "int", "null"],
    ["result", "text", "null"],
    ["archived_from", STATUSES, "null"],
    ["needs", "json_array"],
    ["block_kind", BLOCK_KINDS, "null"],
    ["blocked_on", "task", "null"],
    ["block_counts", "json_object"],
    ["reviewer", "text", "null"],
    ["review_rounds", "int", "null"],
    ["gate", "json_array", "null"],
    ["gate_timeout_ms", "int", "null"],
    ["gate_rounds", "int", "null"],
  ],
  link: [
    ["parent_id", "task"],
    ["child_id", "task"],
    ["created_at", "int"],
  ],
  run: [
    ["id", "int"],
    ["task_id", "task"],
    ["profile", "text", "null"],
    ["claimed_by", "text"],
    ["lease_token", "text"],
    ["lease_ms", "int"],
    ["lease_expires", "int", "null"],
    ["heartbeat_at", "int", "null"],
    ["host", "text", "null"],
    ["pid", "int", "null"],
    ["pid_start_time", "int", "null"],
    ["started_at", "int"],
    ["ended_at", "int", "null"],
    ["exit_code", "int", "null"],
    ["signal", "text", "null"],
    ["outcome", OUTCOMES, "null"],
    ["summary", "text", "null"],
    ["metadata", "json_object", "null"],
    ["error", "text", "null"],
    ["log_path", "text", "null"],
    ["usage", "json", "null"],
    ["workspace", "text", "null"],
    ["gate_handoff", "json_object", "null"],
  ],
  comment: [
    ["id", "int"],
    ["task_id", "task"],
    ["run_id", "int", "null"],
    ["author", "text"],
    ["body", "text"],
    ["created_at", "int"],
  ],
  attachment: [
    ["id", "int"],
    ["task_id", "task"],
    ["run_id", "int", "null"],
    ["name", "text"],
    ["media_type", "text"],
    ["size", "int"],
    ["sha256", "text"],
    ["content", "base64"],
    ["created_by", "text"],
    ["created_at", "int"],
  ],
  event: [
    ["id", "int"],
    ["task_id", "task", "null"],
    ["run_id", "int", "null"],
    ["kind", "text"],
    ["actor", "text"],
    ["data", "json"],
    ["at", "int"],
  ],
  subscription: [
    ["id", "int"],
    ["kind", ["webhook", "command"]],
    ["target", "text"],
    ["secret", "text", "null"],
    ["task_id", "task", "null"],
    ["tenant", "text", "null"],
    ["assignee", "text", "null"],
    ["kinds", "json_array", "null"],
    ["cursor", "int"],
    ["failures", "int"],
    ["next_attempt_at", "int", "null"],
    ["last_error", "text", "null"],
    ["delivered", "int"],
    ["disabled_at", "int", "null"],
    ["ended_at", "int", "null"],
    ["created_by", "text"],
    ["created_at", "int"],
  ],
  routine: [
    ["id", "text"],
    ["name", "text"],
    ["cron", "text"],
    ["tz", "text"],
    ["spec", "json_object"],
    ["template", "text", "null"],
    ["catch_up", ["skip", "once", "all"]],
    ["max_catch_up", "int"],
    ["paused", "int"],
    ["next_at", "int", "null"],
    ["last_at", "int", "null"],
    ["fired", "int"],
    ["created_by", "text"],
    ["created_at", "int"],
    ["updated_at", "int"],
  ],
  budget: [
    ["name", "text"],
    ["scope", BUDGET_SCOPES],
    ["target", "text", "null"],
    ["metric", BUDGET_METRICS],
    ["cap", "number"],
    ["period", BUDGET_PERIODS],
    ["hours", "int", "null"],
    ["hard", "int"],
    ["noted_window", "int", "null"],
    ["created_by", "text"],
    ["created_at", "int"],
  ],
};

/** problem says what is wrong with `value` for `spec`, or null when it fits. */
function problem(value: unknown, spec: Spec): string | null {
  if (Array.isArray(spec)) {
    return typeof value === "string" && spec.includes(value)
      ? null
      : `${JSON.stringify(value)}, expected one of ${spec.join(", ")}`;
  }
  switch (spec) {
    case "text":
      return typeof value === "string" ? null : `${show(value)}, expected a string`;
    case "int":
      return Number.isSafeInteger(value) ? null : `${show(value)}, expected an integer`;
    case "number":
      return typeof value === "number" && Number.isFinite(value)
        ? null
        : `${show(value)}, expected a number`;
    case "base64":
      return typeof value === "string" && BASE64.test(value)
        ? null
        : `${show(value)}, expected bytes in base64`;
    case "task":
      return typeof value === "string" && TASK_ID.test(value)
        ? null
        : `${show(value)}, expected a task id (t_ and 8 hex digits)`;
    default: {
      if (typeof value !== "string") return `${show(value)}, expected JSON text (a string)`;
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        return `${show(value)}, which is not valid JSON text`;
      }
      if (spec === "json_array" && !Array.isArray(parsed)) {
        return `${show(value)}, expected the JSON text of an array`;
      }
      if (
        spec === "json_object" &&
        (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      ) {
        return `${show(value)}, expected the JSON text of an object`;
      }
      return null;
    }
  }
}

/** show quotes a value for a message, cut short: a bad body must not flood the terminal. */
function show(value: unknown): string {
  const text = value === undefined ? "missing" : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * checkRecord returns what is wrong with `record` as a `kind` record (fields in any order,
 * `type` aside), or null when every field is there, known and of its shape.
 */
export function checkRecord(kind: TransferKind, record: Record<string, unknown>): string | null {
  const fields = FIELDS[kind];
  for (const [name, spec, nullable] of fields) {
    if (!(name in record)) return `a ${kind} record lacks the field "${name}"`;
    const value = record[name];
    if (value === null && nullable) continue;
    const wrong = problem(value, spec);
    if (wrong !== null) return `field "${name}" of a ${kind} record is ${wrong}`;
  }
  const known = new Set(["type", ...fields.map(([name]) => name)]);
  const extra = Object.keys(record).find((k) => !known.has(k));
  return extra === undefined ? null : `a ${kind} record has an unknown field "${extra}"`;
}

/**
 * recordLine writes `row` as one line of the stream (without its newline): `type` first, then
 * the fields of FIELDS in their order, whatever order the driver gave them in.
 */
export function recordLine(kind: TransferKind, row: Record<string, unknown>): string {
  const out: Record<string, unknown> = { type: kind };
  for (const [name] of FIELDS[kind]) out[name] = row[name];
  return JSON.stringify(out);
}
