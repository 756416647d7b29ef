/**
 * What a worktree task changed, read with git from the worktree as it is: the commits on its
 * branch since it left the repository's HEAD (the merge base), plus what is not committed yet,
 * untracked files included and ignored files left out. The worktree's own index is never
 * touched: git stages everything into a copy of it (GIT_INDEX_FILE), and the diff compares
 * that copy with the base. Every git call is an argv (no shell), and the answer is capped.
 */
import { execFileSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  existsSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readSync,
  realpathSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { KanbanError } from "../errors.ts";

export type FileStatus = "added" | "modified" | "deleted" | "renamed";

export interface DiffFile {
  /** The path in the worktree (for a deleted file, where it was). */
  path: string;
  /** A renamed file's path in the base, else null. */
  old_path: string | null;
  status: FileStatus;
  additions: number;
  deletions: number;
  binary: boolean;
  /** The file's unified diff (`diff --git ...` and its hunks), cut when `truncated`. */
  patch: string;
  truncated: boolean;
}

export interface WorktreeDiff {
  workspace: string;
  /** The worktree's branch (`kanban/<task id>`), null when its HEAD is detached. */
  branch: string | null;
  /** The commit the worktree has checked out. */
  head: string;
  /** The merge base of the repository's HEAD and the worktree's HEAD. */
  base: string;
  /** The branch the repository has checked out (what the base was taken from), if any. */
  base_ref: string | null;
  /** The changed files, at most `maxFiles` of them (`files_total` counts all). */
  files: DiffFile[];
  files_total: number;
  additions: number;
  deletions: number;
  /** Some file's patch was cut, or left out, or files were left out: see the caps. */
  truncated: boolean;
}

export interface DiffCaps {
  /** The most patch text of all files together (bytes). */
  maxBytes: number;
  /** The most patch text of one file (bytes). */
  fileMaxBytes: number;
  /** The most files listed. */
  maxFiles: number;
}

export const DIFF_CAPS: DiffCaps = {
  maxBytes: 1024 * 1024,
  fileMaxBytes: 256 * 1024,
  maxFiles: 1000,
};

/** How much of git's patch output is read at most, whatever the caps keep of it. */
const SCAN_MAX_BYTES = 16 * 1024 * 1024;
/** A git call that runs longer is stopped (a huge untracked tree being hashed, say). */
const GIT_TIMEOUT_MS = 60_000;

/** DiffError says why there is no diff to show (no worktree, not a repository, ...). */
export class DiffError extends KanbanError {
  constructor(message: string) {
    super("no_diff", message);
  }
}

/** gitEnv is the environment of every git call: no inherited GIT_* (GIT_DIR would win). */
function gitEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith("GIT_")) env[k] = v;
  }
  return { ...env, GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0", ...extra };
}

/** git runs git in `cwd` and returns its output as bytes; a failure is a DiffError. */
function git(args: string[], cwd: string, extra: Record<string, string> = {}): Buffer {
  try {
    return execFileSync("git", args, {
      cwd,
      env: gitEnv(extra),
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
      timeout: GIT_TIMEOUT_MS,
    });
  } catch (err) {
    const e = err as { stderr?: Buffer | string; message: string };
    const why = (e.stderr?.toString() || e.message).trim().split("\n")[0];
    throw new DiffError(`git ${args[0]} in "${cwd}" failed: ${why}`);
  }
}

const text = (b: Buffer) => new TextDecoder().decode(b);
const line = (b: Buffer) => text(b).trim();

/** gitOr is git's one-line answer, or null when git says no (a detached HEAD, say). */
function gitOr(args: string[], cwd: string): string | null {
  try {
    return line(git(args, cwd)) || null;
  } catch {
    return null;
  }
}

/** The git flags of every diff: plain, machine-stable output whatever the user's config. */
const DIFF_FLAGS = [
  "-c",
  "core.quotepath=false",
  "-c",
  "diff.noprefix=false",
  "-c",
  "diff.mnemonicPrefix=false",
  "-c",
  "diff.relative=false",
  "diff",
  "--cached",
  "--no-color",
  "--no-ext-diff",
  "--no-textconv",
  "--find-renames",
];

interface Stat {
  path: string;
  old_path: string | null;
  additions: number;
  deletions: number;
  binary: boolean;
}

/** parseNumstat reads `git diff --numstat -z`: `A\tD\tpath\0`, or `A\tD\t\0old\0new\0`. */
function parseNumstat(out: string): Stat[] {
  const tokens = out.split("\0");
  const stats: Stat[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const m = /^(\d+|-)\t(\d+|-)\t([\s\S]*)$/.exec(tokens[i]!);
    if (!m) continue;
    const binary = m[1] === "-";
    const renamed = m[3] === "";
    const path = renamed ? tokens[i + 2]! : m[3]!;
    const old = renamed ? tokens[i + 1]! : null;
    if (renamed) i += 2;
    stats.push({
      path,
      old_path: old,
      additions: binary ? 0 : Number(m[1]),
      deletions: binary ? 0 : Number(m[2]),
      binary,
    });
  }
  return stats;
}

/** parseNameStatus reads `git diff --name-status -z`: `M\0path\0`, `R100\0old\0new\0`. */
function parseNameStatus(out: string): FileStatus[] {
  const tokens = out.split("\0");
  const statuses: FileStatus[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const code = tokens[i]!;
    if (code === "") continue;
    const letter = code[0];
    if (letter === "R" || letter === "C") {
      statuses.push(letter === "R" ? "renamed" : "added");
      i += 2;
    } else {
      statuses.push(letter === "A" ? "added" : letter === "D" ? "deleted" : "modified");
      i += 1;
    }
  }
  return statuses;
}

/** readHead reads up to `max` bytes of a file; `more` says whether it holds more. */
function readHead(path: string, max: number): { bytes: Buffer; more: boolean } {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    const bytes = Buffer.alloc(Math.min(size, max));
    let got = 0;
    while (got < bytes.length) {
      const n = readSync(fd, bytes, got, bytes.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return { bytes: bytes.subarray(0, got), more: size > got };
  } finally {
    closeSync(fd);
  }
}

const HEADER = Buffer.from("\ndiff --git ");

/** splitPatch cuts git's patch output into one piece per file, in git's order. */
function splitPatch(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let start = bytes.indexOf("diff --git ") === 0 ? 0 : -1;
  if (start < 0) return pieces;
  for (;;) {
    const next = bytes.indexOf(HEADER, start);
    if (next < 0) {
      pieces.push(bytes.subarray(start));
      return pieces;
    }
    pieces.push(bytes.subarray(start, next + 1));
    start = next + 1;
  }
}

/**
 * keep cuts a file's patch to `max` bytes at a line end; `cut` says it lost something. A cut
 * that would keep no line of a hunk (only git's header) keeps nothing.
 */
function keep(piece: Buffer, max: number): { patch: string; cut: boolean } {
  if (piece.length <= max) return { patch: text(piece), cut: false };
  const end = piece.lastIndexOf(0x0a, max - 1);
  const patch = end < 0 ? "" : text(piece.subarray(0, end + 1));
  return { patch: /\n@@ [^\n]*\n./.test(patch) ? patch : "", cut: true };
}

/**
 * worktreeRoot checks that `workspace` is the top of a git worktree (not merely a folder inside
 * some other repository) and returns its real path.
 */
function worktreeRoot(workspace: string): string {
  if (!existsSync(workspace)) {
    throw new DiffError(`the worktree "${workspace}" does not exist`);
  }
  if (!statSync(workspace).isDirectory()) {
    throw new DiffError(`the worktree "${workspace}" is not a folder`);
  }
  const real = realpathSync(workspace);
  const top = gitOr(["rev-parse", "--show-toplevel"], real);
  if (top === null || realpathSync(top) !== real) {
    throw new DiffError(`"${workspace}" is not a git worktree`);
  }
  return real;
}

/**
 * readWorktreeDiff reads what the worktree at `workspace` changed against the merge base of
 * its HEAD and its repository's HEAD. A missing worktree, a folder that is not one, a branch
 * with no history in common with the repository: a DiffError that says which.
 */
export function readWorktreeDiff(workspace: string, caps: DiffCaps = DIFF_CAPS): WorktreeDiff {
  const root = worktreeRoot(workspace);
  const head = gitOr(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], root);
  if (head === null) throw new DiffError(`the worktree "${workspace}" has no commit checked out`);
  const branch = gitOr(["symbolic-ref", "--short", "--quiet", "HEAD"], root);
  // The repository the worktree belongs to: its HEAD is what the task's branch started from.
  const common = resolve(root, line(git(["rev-parse", "--git-common-dir"], root)));
  const repoHead = gitOr(["--git-dir", common, "rev-parse", "--verify", "--quiet", "HEAD"], root);
  if (repoHead === null) throw new DiffError(`the repository "${common}" has no HEAD commit`);
  const baseRef = gitOr(["--git-dir", common, "symbolic-ref", "--short", "--quiet", "HEAD"], root);
  const base = gitOr(["merge-base", repoHead, head], root);
  if (base === null) {
    throw new DiffError(
      `the worktree's HEAD ${head.slice(0, 12)} has no history in common with the ` +
        `repository's HEAD ${repoHead.slice(0, 12)}`,
    );
  }

  const tmp = mkdtempSync(join(tmpdir(), "kanban-diff-"));
  try {
    const index = join(tmp, "index");
    const real = resolve(root, line(git(["rev-parse", "--git-path", "index"], root)));
    if (existsSync(real)) copyFileSync(real, index); // its stat data spares hashing every file
    const env = { GIT_INDEX_FILE: index };
    git(["add", "--all", "--ignore-errors", "--", "."], root, env);
    const stats = parseNumstat(text(git([...DIFF_FLAGS, "--numstat", "-z", base], root, env)));
    const statuses = parseNameStatus(
      text(git([...DIFF_FLAGS, "--name-status", "-z", base], root, env)),
    );
    const patchFile = join(tmp, "patch");
    git([...DIFF_FLAGS, "--patch", `--output=${patchFile}`, base], root, env);
    const { bytes, more } = readHead(patchFile, SCAN_MAX_BYTES);
    const pieces = splitPatch(bytes);
    let budget = caps.maxBytes;
    let truncated = stats.length > caps.maxFiles;
    const files = stats.slice(0, caps.maxFiles).map((s, i): DiffFile => {
      const piece = pieces[i];
      // The last piece read may be cut by the scan limit.
      const partial = piece === undefined || (more && i === pieces.length - 1);
      const { patch, cut } = piece === undefined
        ? { patch: "", cut: true }
        : keep(piece, Math.min(caps.fileMaxBytes, budget));
      budget -= Buffer.byteLength(patch);
      if (cut || partial) truncated = true;
      return { ...s, status: statuses[i] ?? "modified", patch, truncated: cut || partial };
    });
    return {
      workspace,
      branch,
      head,
      base,
      base_ref: baseRef,
      files,
      files_total: stats.length,
      additions: stats.reduce((n, s) => n + s.additions, 0),
      deletions: stats.reduce((n, s) => n + s.deletions, 0),
      truncated,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
