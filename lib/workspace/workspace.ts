/**
 * Workspaces: where a worker runs. `scratch` is a private folder per task, `dir:/path` a
 * shared folder that must exist, and `worktree` a git worktree of the configured repository
 * on branch `kanban/<task id>` (made once, reused by every retry).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

export interface WorkspaceSettings {
  /** Root of this board's scratch folders and worktrees. */
  root: string;
  /** The git repository worktrees are made from. */
  repository?: string | undefined;
}

/** WorkspaceError is a workspace that cannot be prepared (the spawn fails, and counts). */
export class WorkspaceError extends Error {}

export function branchName(taskId: string): string {
  return `kanban/${taskId}`;
}

/** workspacePath is where a task's workspace is (or would be). */
export function workspacePath(workspace: string, taskId: string, s: WorkspaceSettings): string {
  if (workspace.startsWith("dir:")) return workspace.slice(4);
  if (workspace === "worktree") return join(s.root, "worktrees", taskId);
  return join(s.root, "scratch", taskId);
}

function git(args: string[], cwd: string): string {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new WorkspaceError(`git ${args.join(" ")}: ${(e.stderr || e.message).trim()}`);
  }
}

/** prepareWorkspace makes the task's workspace if needed and returns its path. */
export function prepareWorkspace(workspace: string, taskId: string, s: WorkspaceSettings): string {
  const path = workspacePath(workspace, taskId, s);
  if (workspace.startsWith("dir:")) {
    if (!existsSync(path) || !statSync(path).isDirectory()) {
      throw new WorkspaceError(`workspace folder "${path}" does not exist`);
    }
    return path;
  }
  if (workspace === "worktree") {
    if (!s.repository) {
      throw new WorkspaceError(
        "task wants a worktree but config.toml sets no [dispatch] repository",
      );
    }
    if (existsSync(join(path, ".git"))) return path; // a retry reuses the worktree
    mkdirSync(join(s.root, "worktrees"), { recursive: true });
    const branch = branchName(taskId);
    const exists = (() => {
      try {
        git(["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`], s.repository);
        return true;
      } catch {
        return false;
      }
    })();
    git(
      exists ? ["worktree", "add", path, branch] : ["worktree", "add", "-b", branch, path],
      s.repository,
    );
    return path;
  }
  mkdirSync(path, { recursive: true });
  return path;
}

/**
 * removeWorkspace deletes a task's scratch folder or worktree (never a `dir:` folder, which
 * is shared). Returns the path removed, or null when there was nothing to remove.
 */
export function removeWorkspace(
  workspace: string,
  taskId: string,
  s: WorkspaceSettings,
): string | null {
  if (workspace.startsWith("dir:")) return null;
  const path = workspacePath(workspace, taskId, s);
  if (!existsSync(path)) return null;
  if (workspace === "worktree" && s.repository) {
    git(["worktree", "remove", "--force", path], s.repository);
  } else {
    rmSync(path, { recursive: true, force: true });
  }
  return path;
}
