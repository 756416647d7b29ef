/**
 * Materializing a task's attachments in its worker's workspace, before the worker starts:
 * each attachment is written to `<workspace>/.kanban/attachments/<task id>/<name>` (mode
 * 0644), read from the board one at a time. Files of that folder that are no longer attached
 * are removed, so that the folder is what the prompt lists. `.kanban/` holds a `.gitignore`
 * of `*`, so that a worktree's git ignores it. Names are checked again here: a file is never
 * written outside its folder, nor through a symbolic link.
 */
import {
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import {
  type Attachment,
  type AttachmentContent,
  attachmentNameProblem,
  attachmentPath,
  ATTACHMENTS_DIR,
  NotFoundError,
} from "../store/mod.ts";
import { WorkspaceError } from "./workspace.ts";

/** What materializing needs of the board: a task's attachments, and one's content. */
export interface AttachmentSource {
  attachments(ref: string): Promise<Attachment[]>;
  attachment(ref: string, name: string): Promise<AttachmentContent>;
}

/** writeNew writes `content` to a new file at `path` (never through an existing link). */
function writeNew(path: string, content: Uint8Array): void {
  rmSync(path, { force: true }); // a file (or link) left by an earlier run: replaced, not followed
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0),
    0o644,
  );
  try {
    let at = 0;
    while (at < content.length) at += writeSync(fd, content, at, content.length - at);
  } finally {
    closeSync(fd);
  }
}

/** insideOf tells whether `path` is `root` or below it. */
function insideOf(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !rel.startsWith(sep) && rel !== "..");
}

/**
 * materializeAttachments writes task `taskId`'s attachments into `workspace` and returns the
 * paths written (absolute). Throws a WorkspaceError naming what could not be written.
 */
export async function materializeAttachments(
  store: AttachmentSource,
  taskId: string,
  workspace: string,
): Promise<string[]> {
  const list = await store.attachments(taskId);
  const root = resolve(workspace);
  const folder = resolve(root, ATTACHMENTS_DIR, taskId);
  if (list.length === 0 && !existsSync(folder)) return [];
  const kanbanDir = resolve(root, ".kanban");
  for (const dir of [kanbanDir, dirname(folder), folder]) {
    if (existsSync(dir) && lstatSync(dir).isSymbolicLink()) {
      throw new WorkspaceError(`Cannot write attachments: "${dir}" is a symbolic link`);
    }
  }
  mkdirSync(folder, { recursive: true });
  const ignore = join(kanbanDir, ".gitignore");
  if (!existsSync(ignore)) writeFileSync(ignore, "*\n");
  const wanted = new Set(list.map((a) => a.name));
  for (const name of readdirSync(folder)) {
    if (!wanted.has(name)) rmSync(join(folder, name), { recursive: true, force: true });
  }
  const written: string[] = [];
  for (const a of list) {
    const problem = attachmentNameProblem(a.name);
    const path = resolve(root, attachmentPath(taskId, a.name));
    if (problem !== null || dirname(path) !== folder || !insideOf(root, path)) {
      throw new WorkspaceError(
        `Cannot write attachment ${JSON.stringify(a.name)} of ${taskId}: ${
          problem ?? "unsafe name"
        }`,
      );
    }
    let content: Uint8Array;
    try {
      content = (await store.attachment(taskId, a.name)).content;
    } catch (err) {
      if (err instanceof NotFoundError) continue; // detached since the listing
      throw err;
    }
    try {
      writeNew(path, content);
    } catch (err) {
      throw new WorkspaceError(
        `Cannot write attachment ${JSON.stringify(a.name)} to "${path}": ${(err as Error).message}`,
      );
    }
    written.push(path);
  }
  return written;
}
