/**
 * Review: what a task changed (a worktree's diff, read with git) or made (the artifacts its
 * workers listed), and review comments checked against that diff and quoted from it. The CLI
 * (`kanban diff`, `review --comment`) and the HTTP API both read it from here.
 */
export {
  DIFF_CAPS,
  type DiffCaps,
  DiffError,
  type DiffFile,
  type FileStatus,
  readWorktreeDiff,
  type WorktreeDiff,
} from "./diff.ts";
export { findLine, MARK, parsePatch, type PatchLine } from "./patch.ts";
export {
  boardOfPath,
  reviewSettings,
  type TaskDiff,
  taskDiff,
  taskWorkspace,
} from "./task_diff.ts";
export {
  type Artifact,
  type ArtifactContent,
  artifactContent,
  ArtifactRefusedError,
  type TaskArtifacts,
  taskArtifacts,
} from "./artifacts.ts";
export { quoteComments, type ReviewNote } from "./quote.ts";
