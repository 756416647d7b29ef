/**
 * What a task's workers said they made, for tasks that have no diff to review: the paths their
 * completion metadata lists (`artifact`: a path; `artifacts`: paths, or objects with a `path`),
 * each with whether it exists and its size. A text artifact's content can be read, capped, and
 * only from inside the task's workspace (after resolving symlinks): a worker's metadata must
 * not make the server read ~/.ssh.
 */
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
} from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";
import { KanbanError, NotFoundError, type Run, type Store, type Task } from "../store/mod.ts";
import type { WorkspaceSettings } from "../workspace/workspace.ts";
import { taskWorkspace } from "./task_diff.ts";

export interface Artifact {
  /** The path as the worker wrote it. */
  path: string;
  /** A `description`, `title` or `name` given with it. */
  note: string | null;
  /** The run whose metadata listed it (null: a person's completion). */
  run: number | null;
  /** The absolute path (a relative one is taken from the run's workspace). */
  resolved: string;
  exists: boolean;
  kind: "file" | "directory" | "other" | null;
  /** Bytes, for a file. */
  size: number | null;
  /** It lies inside the workspace (symlinks resolved): its content may be read. */
  inside_workspace: boolean;
}

export interface TaskArtifacts {
  task: string;
  workspace: string;
  artifacts: Artifact[];
  /** More were listed than ARTIFACTS_MAX. */
  truncated: boolean;
}

export interface ArtifactContent {
  task: string;
  path: string;
  resolved: string;
  size: number;
  /** Not text (a NUL byte, or not UTF-8): `text` is null. */
  binary: boolean;
  /** The file holds more than `text`. */
  truncated: boolean;
  text: string | null;
}

export const ARTIFACTS_MAX = 200;
export const ARTIFACT_TEXT_MAX = 256 * 1024;

/** An artifact the server will not read: outside the workspace, or not a file. */
export class ArtifactRefusedError extends KanbanError {
  constructor(message: string) {
    super("outside_workspace", message);
  }
}

interface Listed {
  path: string;
  note: string | null;
  run: number | null;
  workspace: string;
}

const str = (v: unknown): string | null => (typeof v === "string" && v.trim() !== "" ? v : null);

/** listedIn reads the `artifact` and `artifacts` keys of one completion's metadata. */
function listedIn(
  metadata: Record<string, unknown> | null,
): { path: string; note: string | null }[] {
  if (metadata === null) return [];
  const one = (v: unknown) => {
    if (str(v) !== null) return { path: v as string, note: null };
    if (typeof v !== "object" || v === null) return null;
    const o = v as Record<string, unknown>;
    const path = str(o["path"]);
    return path === null
      ? null
      : { path, note: str(o["description"]) ?? str(o["title"]) ?? str(o["name"]) };
  };
  const many = Array.isArray(metadata["artifacts"]) ? metadata["artifacts"] : [];
  return [metadata["artifact"], ...many].map(one).filter((a) => a !== null);
}

/** inside says whether `path` is `root` or below it (both absolute, symlinks resolved). */
function inside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function realOrNull(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

function describe(l: Listed): Artifact {
  const resolved = isAbsolute(l.path) ? resolve(l.path) : resolve(l.workspace, l.path);
  const real = realOrNull(resolved);
  const root = realOrNull(l.workspace);
  let kind: Artifact["kind"] = null;
  let size: number | null = null;
  if (real !== null) {
    const st = statSync(real);
    kind = st.isFile() ? "file" : st.isDirectory() ? "directory" : "other";
    size = st.isFile() ? st.size : null;
  }
  return {
    path: l.path,
    note: l.note,
    run: l.run,
    resolved,
    exists: real !== null,
    kind,
    size,
    inside_workspace: real !== null && root !== null && inside(real, root),
  };
}

/** listed gathers the artifacts of a task's runs (newest first) and of people's completions. */
async function listed(store: Store, ref: string, s: WorkspaceSettings) {
  const detail = await store.showTask(ref);
  const { task } = detail;
  const runs: Run[] = [...detail.runs].sort((a, b) => b.id - a.id);
  const workspace = taskWorkspace(task, runs, s);
  const out: Listed[] = [];
  const seen = new Set<string>();
  const add = (items: ReturnType<typeof listedIn>, run: number | null, ws: string) => {
    for (const a of items) {
      if (seen.has(a.path)) continue;
      seen.add(a.path);
      out.push({ ...a, run, workspace: ws });
    }
  };
  for (const r of runs) add(listedIn(r.metadata), r.id, r.workspace ?? workspace);
  // A person's completion of a task with no open run lives only in its event.
  for (const e of [...detail.events].reverse()) {
    if (e.kind !== "completed" || e.run_id !== null) continue;
    const md = e.data["metadata"];
    if (typeof md === "object" && md !== null) {
      add(listedIn(md as Record<string, unknown>), null, workspace);
    }
  }
  return { task, workspace, listed: out };
}

/** taskArtifacts lists what task `ref`'s workers listed in their metadata, newest run first. */
export async function taskArtifacts(
  store: Store,
  ref: string,
  s: WorkspaceSettings,
): Promise<TaskArtifacts> {
  const { task, workspace, listed: all } = await listed(store, ref, s);
  return {
    task: task.id,
    workspace,
    artifacts: all.slice(0, ARTIFACTS_MAX).map(describe),
    truncated: all.length > ARTIFACTS_MAX,
  };
}

/** readText reads up to `max` bytes of the open file `fd` and says whether it is text. */
function readText(fd: number, size: number, max: number) {
  const bytes = Buffer.alloc(Math.min(size, max));
  let got = 0;
  while (got < bytes.length) {
    const n = readSync(fd, bytes, got, bytes.length - got, got);
    if (n === 0) break;
    got += n;
  }
  const head = bytes.subarray(0, got);
  if (head.includes(0)) return { binary: true, text: null };
  try {
    // stream: a character cut by the cap is left out rather than taken for non-UTF-8
    return {
      binary: false,
      text: new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true }),
    };
  } catch {
    return { binary: true, text: null };
  }
}

/**
 * artifactContent reads the artifact task `ref` lists as `path`: at most `max` bytes, and only
 * a regular file that lies inside the workspace once every symlink is resolved.
 */
export async function artifactContent(
  store: Store,
  ref: string,
  path: string,
  s: WorkspaceSettings,
  max = ARTIFACT_TEXT_MAX,
): Promise<ArtifactContent> {
  const { task, listed: all } = await listed(store, ref, s);
  const hit = all.find((a) => a.path === path);
  if (hit === undefined) {
    throw new NotFoundError(`Task "${task.id}" lists no artifact "${path}"`);
  }
  return readArtifact(task, hit, max);
}

function readArtifact(task: Task, a: Listed, max: number): ArtifactContent {
  const { resolved } = describe(a);
  const real = realOrNull(resolved);
  if (real === null) {
    throw new NotFoundError(`Artifact "${a.path}" of task "${task.id}" does not exist`);
  }
  const root = realOrNull(a.workspace);
  if (root === null || !inside(real, root)) {
    throw new ArtifactRefusedError(
      `Artifact "${a.path}" of task "${task.id}" is outside its workspace "${a.workspace}": ` +
        "only files inside the workspace are shown",
    );
  }
  // O_NOFOLLOW: the path was resolved above; a link put there since is refused, not followed.
  const fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) {
      throw new ArtifactRefusedError(`Artifact "${a.path}" of task "${task.id}" is not a file`);
    }
    const { binary, text } = readText(fd, st.size, max);
    return {
      task: task.id,
      path: a.path,
      resolved: real,
      size: st.size,
      binary,
      truncated: st.size > max,
      text,
    };
  } finally {
    closeSync(fd);
  }
}
