/** The store's public shapes. These are also the `--json` shapes of the CLI (version 1). */
import type { Usage } from "./usage.ts";
import type { Status } from "./transitions.ts";
import type { Outcome } from "./outcomes.ts";
import type { BlockCounts, BlockKind } from "./blocks.ts";

/** Milliseconds since the Unix epoch. Injected so that tests control time. */
export type Clock = () => number;

export type WorkspaceKind = "scratch" | "worktree" | "dir";

/** A task's completion gate (gates.ts): null timeout and rounds stand for the defaults. */
export interface TaskGate {
  argv: string[];
  timeout_ms: number | null;
  rounds: number | null;
}

export interface Task {
  id: string;
  title: string;
  body: string;
  status: Status;
  assignee: string | null;
  priority: number;
  tenant: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** `scratch`, `worktree` or `dir:/absolute/path`. */
  workspace: string;
  skills: string[];
  /** Labels a host must offer (its dispatch.labels) to run the task, e.g. macos, gpu. */
  needs: string[];
  /** The kind of the task's latest block (blocks.ts), null when none since it completed. */
  block_kind: BlockKind | null;
  /** The task a dependency block waits on (also linked as a parent). */
  blocked_on: string | null;
  /** How many times the task was blocked, per kind, since it last completed. */
  block_counts: BlockCounts;
  /** The profile whose worker reviews what the task's worker hands in (reviews.ts), if any. */
  reviewer: string | null;
  /** Rounds of review by the reviewer before a person decides (null: the default, 3). */
  review_rounds: number | null;
  /**
   * The completion gate (gates.ts): the command that must exit 0 before the task is done, its
   * time limit in ms and its rounds (null: the defaults, 10 minutes and 3); null: none yet (a
   * claim copies its profile's); an empty argv: none, not even its profile's.
   */
  gate: TaskGate | null;
  max_runtime_seconds: number | null;
  not_before: string | null;
  review_required: boolean;
  idempotency_key: string | null;
  consecutive_failures: number;
  retry_after: string | null;
  last_error: string | null;
  blocked_reason: string | null;
  current_run_id: number | null;
  result: string | null;
  archived_from: Status | null;
}

/** TaskSummary is a task without its body: what `list` returns. */
export type TaskSummary = Omit<Task, "body">;

export interface Run {
  id: number;
  task_id: string;
  profile: string | null;
  claimed_by: string;
  open: boolean;
  started_at: string;
  ended_at: string | null;
  duration_ms: number | null;
  lease_expires: string | null;
  heartbeat_at: string | null;
  host: string | null;
  pid: number | null;
  /** The worker's start time in /proc clock ticks: pid + this fingerprint the process. */
  pid_start_time: number | null;
  exit_code: number | null;
  signal: string | null;
  outcome: Outcome | null;
  summary: string | null;
  metadata: Record<string, unknown> | null;
  error: string | null;
  log_path: string | null;
  /** The directory the worker ran in. */
  workspace: string | null;
  /** What the run used (tokens, cost), when its CLI's output or the worker told (usage.ts). */
  usage: Usage | null;
  /** The worker completed and its report waits for the task's gate (gates.ts). */
  gate_pending: boolean;
}

export interface Comment {
  id: number;
  task_id: string;
  run_id: number | null;
  author: string;
  body: string;
  created_at: string;
}

export interface TaskEvent {
  id: number;
  task_id: string | null;
  run_id: number | null;
  kind: string;
  actor: string;
  data: Record<string, unknown>;
  at: string;
}

/** TaskLinkRef is a linked task as seen from the other end of the link. */
export interface TaskLinkRef {
  id: string;
  title: string;
  status: Status;
  assignee: string | null;
}

/** RunDetail is a run as `show` lists it: with the tasks its worker created. */
export interface RunDetail extends Run {
  /** Tasks the worker of this run created (follow-ups), oldest first. */
  created_tasks: TaskLinkRef[];
}

export interface TaskDetail {
  task: Task;
  parents: TaskLinkRef[];
  children: TaskLinkRef[];
  comments: Comment[];
  events: TaskEvent[];
  runs: RunDetail[];
}

/** Claim is what a successful claim returns: the task, its new run, and the run's secret. */
export interface Claim {
  task: Task;
  run: Run;
  token: string;
}

/**
 * Actor says who makes a change. A worker also passes its run's lease `token`; its writes
 * are fenced (refused unless that run is the task's current one).
 */
export interface Actor {
  name: string;
  token?: string | undefined;
}

/**
 * Confinement binds a store connection to one worker's run (`openStore(path, {confine})`):
 * its writes are refused unless they stay in that run's task and the follow-ups the run
 * creates and links (lib/store/confine.ts), whatever actor a call passes.
 */
export interface Confinement {
  /** The task the process was started for (KANBAN_TASK), when it says. */
  task: string | null;
  /** The run's lease token (KANBAN_TOKEN): without it the process may not write at all. */
  token: string | null;
}
