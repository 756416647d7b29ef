/**
 * A task's diff, as the CLI (`kanban diff`) and the API (`GET /api/v1/tasks/{id}/diff`) give it:
 * where the task's worktree is (where its last worker ran, else where the dispatcher would make
 * it), and what it changed. No diff to show (not a worktree task, a worktree removed by gc, no
 * repository configured, git refusing) is an answer with the reason, not an error.
 */
import { basename, dirname, join } from "node:path";
import { loadConfig } from "../config/config.ts";
import { boardKey, type BoardRef, type Env, kanbanHome } from "../config/paths.ts";
import type { Run, Store, Task } from "../store/mod.ts";
import { KanbanError } from "../errors.ts";
import { workspacePath, type WorkspaceSettings } from "../workspace/workspace.ts";
import {
  DIFF_CAPS,
  type DiffCaps,
  DiffError,
  readWorktreeDiff,
  type WorktreeDiff,
} from "./diff.ts";

/** TaskDiff is a task's diff, or (available: false) the reason there is none. */
export interface TaskDiff extends Omit<WorktreeDiff, "workspace" | "head" | "base"> {
  task: string;
  available: boolean;
  /** Why there is no diff (null when there is one). */
  reason: string | null;
  /** The worktree read (or looked for), null for a task that has none. */
  workspace: string | null;
  head: string | null;
  base: string | null;
}

/**
 * boardOfPath names the board a server opened by its file: `<home>/boards/NAME/board.db` is
 * board NAME (its folders are keyed by name, as `--board NAME` keys them), any other path is
 * keyed by the path.
 */
export function boardOfPath(path: string, env: Env): BoardRef {
  const boards = join(kanbanHome(env), "boards");
  if (basename(path) === "board.db" && dirname(dirname(path)) === boards) {
    return { name: basename(dirname(path)), path };
  }
  return { name: null, path };
}

/**
 * reviewSettings is where the board's workspaces are and which repository worktrees come from
 * (config.toml's [dispatch] workspaces and repository), as the dispatcher and gc see them.
 */
export function reviewSettings(env: Env, board: BoardRef, configFile?: string): WorkspaceSettings {
  const config = loadConfig(env, configFile);
  return {
    root: join(config.dispatch.workspaces, boardKey(board)),
    repository: config.dispatch.repository,
  };
}

/** taskWorkspace is where a task's worker ran last, else where its workspace would be. */
export function taskWorkspace(task: Task, runs: readonly Run[], s: WorkspaceSettings): string {
  const ran = runs.find((r) => r.workspace !== null)?.workspace; // runs: newest first
  return ran ?? workspacePath(task.workspace, task.id, s);
}

function none(task: string, reason: string, workspace: string | null = null): TaskDiff {
  return {
    task,
    available: false,
    reason,
    workspace,
    branch: null,
    head: null,
    base: null,
    base_ref: null,
    files: [],
    files_total: 0,
    additions: 0,
    deletions: 0,
    truncated: false,
  };
}

/** whyMissing adds what most likely explains a missing worktree. */
function whyMissing(task: Task, runs: readonly Run[], s: WorkspaceSettings): string {
  if (task.status === "archived") return " (kanban gc removes the worktrees of archived tasks)";
  if (runs.length === 0 && !s.repository) {
    return " (config.toml sets no [dispatch] repository, so the dispatcher makes no worktree)";
  }
  if (runs.length === 0) return " (no worker has started on the task yet)";
  return "";
}

/**
 * taskDiff reads the diff of task `ref` (a NotFoundError when there is no such task).
 * `settings` is an Error when config.toml could not be read: the diff says so.
 */
export async function taskDiff(
  store: Store,
  ref: string,
  settings: WorkspaceSettings | KanbanError,
  caps: DiffCaps = DIFF_CAPS,
): Promise<TaskDiff> {
  const task = await store.getTask(ref);
  if (task.workspace !== "worktree") {
    const where = task.workspace === "scratch" ? "a scratch folder" : `"${task.workspace}"`;
    return none(task.id, `task "${task.id}" works in ${where}, not a git worktree: no diff`);
  }
  if (settings instanceof KanbanError) return none(task.id, settings.message);
  const runs = await store.listRuns(task.id, 20);
  const workspace = taskWorkspace(task, runs, settings);
  try {
    const d = readWorktreeDiff(workspace, caps);
    return { ...d, task: task.id, available: true, reason: null };
  } catch (err) {
    if (!(err instanceof DiffError)) throw err;
    const missing = err.message.endsWith("does not exist") ? whyMissing(task, runs, settings) : "";
    return none(task.id, `${err.message}${missing}`, workspace);
  }
}
