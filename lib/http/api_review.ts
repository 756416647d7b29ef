/**
 * Review routes: a worktree task's diff against its base, read from the worktree with git, and
 * the artifacts a task's workers listed in their metadata (with a text artifact's content, read
 * only from inside the task's workspace). The review itself (approve, or reject with comments)
 * is `POST /api/v1/tasks/{id}/review` in api_actions.ts; quotedComments gives it the quotes.
 */
import { KanbanError } from "../store/mod.ts";
import type { ReviewCommentInput } from "../store/review_comments.ts";
import {
  artifactContent,
  ArtifactRefusedError,
  boardOfPath,
  quoteComments,
  type ReviewNote,
  reviewSettings,
  taskArtifacts,
  taskDiff,
} from "../review/mod.ts";
import type { WorkspaceSettings } from "../workspace/workspace.ts";
import { ApiError } from "./errors.ts";
import { type ApiContext, json, type Routes } from "./route.ts";
import { ArtifactQuery } from "./schemas.ts";
import * as shapes from "./shapes.ts";

/**
 * settingsOf reads where the board's worktrees are from config.toml, as the dispatcher does;
 * a config it cannot read comes back as the error, for the diff to report.
 */
function settingsOf(api: ApiContext): WorkspaceSettings | KanbanError {
  try {
    return reviewSettings(api.env, boardOfPath(api.store.path, api.env));
  } catch (err) {
    if (err instanceof KanbanError) return err;
    throw err;
  }
}

function settingsOrThrow(api: ApiContext): WorkspaceSettings {
  const s = settingsOf(api);
  if (s instanceof KanbanError) throw s;
  return s;
}

/**
 * quotedComments checks a rejection's comments against task `ref`'s diff (each file must be
 * one it changed) and adds the diff lines each is about.
 */
export async function quotedComments(
  api: ApiContext,
  ref: string,
  comments: readonly ReviewNote[],
): Promise<ReviewCommentInput[]> {
  return quoteComments(await taskDiff(api.store, ref, settingsOf(api)), comments);
}

export function reviewRoutes(r: Routes, api: ApiContext): void {
  const { store } = api;

  r.add({
    method: "get",
    path: "/api/v1/tasks/{id}/diff",
    tag: "review",
    summary: "A worktree task's changes against its base, read from the worktree with git",
    description: "The worktree as it is: commits on the task's branch since the merge base " +
      "with the repository's HEAD, and what is not committed yet (untracked files too, " +
      "ignored ones not). Each file has its unified diff in `patch`. Patches are capped (1 MiB " +
      "in all, 256 KiB a file, 1000 files) and `truncated` says when something was left out. " +
      "A task with no diff to show (not a worktree task, its worktree removed by gc, git " +
      "refusing) answers `available: false` with the `reason`.",
    ok: { status: 200, schema: shapes.TaskDiff, description: "the diff, or why there is none" },
    errors: [404],
    handler: async (c, { params }) =>
      json(c, await taskDiff(store, params["id"]!, settingsOf(api))),
  });

  r.add({
    method: "get",
    path: "/api/v1/tasks/{id}/artifacts",
    tag: "review",
    summary: "What the task's workers listed in their metadata (`artifact`, `artifacts`)",
    description: "Each path with whether it exists, its size, and whether it lies inside the " +
      "task's workspace (only then can its content be read). Relative paths are taken from " +
      "the workspace the run worked in.",
    ok: { status: 200, schema: shapes.TaskArtifacts, description: "the listed artifacts" },
    errors: [404],
    handler: async (c, { params }) =>
      json(c, await taskArtifacts(store, params["id"]!, settingsOrThrow(api))),
  });

  r.add({
    method: "get",
    path: "/api/v1/tasks/{id}/artifacts/content",
    tag: "review",
    summary: "A listed artifact's text (at most 256 KiB), from inside the task's workspace",
    description: "`path` must be one the task's metadata lists. A file outside the workspace " +
      "(symlinks resolved) is refused with 403 `outside_workspace`; a file that is not UTF-8 " +
      "text answers `binary: true` and no text.",
    query: ArtifactQuery,
    ok: { status: 200, schema: shapes.ArtifactContent, description: "the artifact's text" },
    errors: [403, 404],
    handler: async (c, { params, query }) => {
      try {
        return json(
          c,
          await artifactContent(store, params["id"]!, query.path, settingsOrThrow(api)),
        );
      } catch (err) {
        if (err instanceof ArtifactRefusedError) throw new ApiError(403, err.code, err.message);
        throw err;
      }
    },
  });
}
