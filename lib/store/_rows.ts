/** Row shapes as SQLite returns them, and their mapping to the public shapes. */
import type { Comment, Run, Task, TaskEvent, TaskSummary } from "./types.ts";
import type { Status } from "./transitions.ts";
import type { Outcome } from "./outcomes.ts";
import type { BlockCounts, BlockKind } from "./blocks.ts";

export interface TaskRow {
  id: string;
  title: string;
  body: string;
  assignee: string | null;
  status: Status;
  priority: number;
  tenant: string | null;
  created_by: string;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  completed_at: number | null;
  workspace_kind: "scratch" | "worktree" | "dir";
  workspace_path: string | null;
  skills: string;
  max_runtime_seconds: number | null;
  not_before: number | null;
  review_required: number;
  idempotency_key: string | null;
  consecutive_failures: number;
  retry_after: number | null;
  last_error: string | null;
  blocked_reason: string | null;
  current_run_id: number | null;
  result: string | null;
  archived_from: Status | null;
  /** The labels a host must offer to run the task: JSON text of an array (migration 006). */
  needs: string;
  /** The kind of the task's latest block (migration 007), null since it completed. */
  block_kind: BlockKind | null;
  /** The task a dependency block waits on. */
  blocked_on: string | null;
  /** Blocks per kind since the task last completed: JSON text of an object (loop breaker). */
  block_counts: string;
  /** The profile that reviews what the task's worker hands in (migration 010, reviews.ts). */
  reviewer: string | null;
  /** Rounds of review before a person decides; null: REVIEW_ROUNDS_DEFAULT. */
  review_rounds: number | null;
  /** The completion gate: an argv as JSON text (migration 013, gates.ts); null: none. */
  gate: string | null;
  /** The gate's time limit in ms; null: the default. */
  gate_timeout_ms: number | null;
  /** Failed gates before the task is blocked; null: the default. */
  gate_rounds: number | null;
}

export interface RunRow {
  id: number;
  task_id: string;
  profile: string | null;
  claimed_by: string;
  lease_token: string;
  lease_ms: number;
  lease_expires: number | null;
  heartbeat_at: number | null;
  host: string | null;
  pid: number | null;
  pid_start_time: number | null;
  started_at: number;
  ended_at: number | null;
  exit_code: number | null;
  signal: string | null;
  outcome: Outcome | null;
  summary: string | null;
  metadata: string | null;
  error: string | null;
  log_path: string | null;
  usage: string | null;
  workspace: string | null;
  /** The worker's report held while the run's gate runs (JSON text, gates.ts); null: none. */
  gate_handoff: string | null;
}

export interface CommentRow {
  id: number;
  task_id: string;
  run_id: number | null;
  author: string;
  body: string;
  created_at: number;
}

export interface EventRow {
  id: number;
  task_id: string | null;
  run_id: number | null;
  kind: string;
  actor: string;
  data: string;
  at: number;
}

/** TASK_SUMMARY_COLUMNS selects every task column but the body (lists stay small). */
export const TASK_SUMMARY_COLUMNS = `id, title, '' AS body, assignee, status, priority, tenant,
  created_by, created_at, updated_at, started_at, completed_at, workspace_kind, workspace_path,
  skills, max_runtime_seconds, not_before, review_required, idempotency_key,
  consecutive_failures, retry_after, last_error, blocked_reason, current_run_id, result,
  archived_from, needs, block_kind, blocked_on, block_counts, reviewer, review_rounds, gate, gate_timeout_ms, gate_rounds`;

export function iso(ms: number): string;
export function iso(ms: number | null): string | null;
export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function workspaceString(kind: TaskRow["workspace_kind"], path: string | null): string {
  return kind === "dir" ? `dir:${path}` : kind;
}

export function toTaskSummary(r: TaskRow): TaskSummary {
  return {
    id: r.id,
    title: r.title,
    status: r.status,
    assignee: r.assignee,
    priority: r.priority,
    tenant: r.tenant,
    created_by: r.created_by,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    started_at: iso(r.started_at),
    completed_at: iso(r.completed_at),
    workspace: workspaceString(r.workspace_kind, r.workspace_path),
    skills: JSON.parse(r.skills) as string[],
    needs: JSON.parse(r.needs) as string[],
    block_kind: r.block_kind,
    blocked_on: r.blocked_on,
    block_counts: JSON.parse(r.block_counts) as BlockCounts,
    reviewer: r.reviewer,
    review_rounds: r.review_rounds,
    gate: r.gate === null ? null : {
      argv: JSON.parse(r.gate) as string[],
      timeout_ms: r.gate_timeout_ms,
      rounds: r.gate_rounds,
    },
    max_runtime_seconds: r.max_runtime_seconds,
    not_before: iso(r.not_before),
    review_required: r.review_required === 1,
    idempotency_key: r.idempotency_key,
    consecutive_failures: r.consecutive_failures,
    retry_after: iso(r.retry_after),
    last_error: r.last_error,
    blocked_reason: r.blocked_reason,
    current_run_id: r.current_run_id,
    result: r.result,
    archived_from: r.archived_from,
  };
}

export function toTask(r: TaskRow): Task {
  const { id, title, ...rest } = toTaskSummary(r);
  return { id, title, body: r.body, ...rest };
}

export function toRun(r: RunRow): Run {
  return {
    id: r.id,
    task_id: r.task_id,
    profile: r.profile,
    claimed_by: r.claimed_by,
    open: r.ended_at === null,
    started_at: iso(r.started_at),
    ended_at: iso(r.ended_at),
    duration_ms: r.ended_at === null ? null : r.ended_at - r.started_at,
    lease_expires: iso(r.lease_expires),
    heartbeat_at: iso(r.heartbeat_at),
    host: r.host,
    pid: r.pid,
    pid_start_time: r.pid_start_time,
    exit_code: r.exit_code,
    signal: r.signal,
    outcome: r.outcome,
    summary: r.summary,
    metadata: r.metadata === null ? null : JSON.parse(r.metadata) as Record<string, unknown>,
    error: r.error,
    log_path: r.log_path,
    workspace: r.workspace,
    usage: r.usage === null ? null : JSON.parse(r.usage),
    gate_pending: r.ended_at === null && r.gate_handoff !== null,
  };
}

export function toComment(r: CommentRow): Comment {
  return { ...r, created_at: iso(r.created_at) };
}

export function toEvent(r: EventRow): TaskEvent {
  return { ...r, data: JSON.parse(r.data) as Record<string, unknown>, at: iso(r.at) };
}
