/**
 * Review comments as a person writes them (`{file, line?, side?, body}`) checked against the
 * task's diff and given the lines they are about: the commented line and up to two before it
 * in its hunk, with their `+`/`-`/space markers. A line the diff does not show (a file
 * comment may name any line of the changed file) is quoted from the worktree. Without a diff
 * (a task with no worktree) the comments go as they are.
 */
import { closeSync, fstatSync, openSync, readSync, realpathSync } from "node:fs";
import { join, sep } from "node:path";
import { ValidationError } from "../errors.ts";
import type { ReviewCommentInput } from "../store/review_comments.ts";
import type { DiffFile } from "./diff.ts";
import { findLine, MARK, parsePatch } from "./patch.ts";
import type { TaskDiff } from "./task_diff.ts";

/** Lines quoted before the commented one, from its hunk. */
const BEFORE = 2;
/** A quoted line longer than this is cut (a minified file has very long lines). */
const QUOTE_LINE_CHARS = 300;
/** A file larger than this is not read for a line the diff does not show. */
const READ_MAX_BYTES = 8 * 1024 * 1024;

export interface ReviewNote {
  file: string;
  line?: number | undefined;
  side?: "old" | "new" | undefined;
  body: string;
}

function cut(line: string): string {
  return line.length > QUOTE_LINE_CHARS ? `${line.slice(0, QUOTE_LINE_CHARS - 1)}…` : line;
}

/** fileLine reads line `n` of `path` inside the worktree `root`; null past its end. */
function fileLine(root: string, path: string, n: number): { text: string | null; lines: number } {
  const real = realpathSync(join(root, path));
  const top = realpathSync(root);
  if (!real.startsWith(top + sep)) throw new ValidationError(`"${path}" is outside the worktree`);
  const fd = openSync(real, "r");
  try {
    const size = fstatSync(fd).size;
    if (size > READ_MAX_BYTES) {
      throw new ValidationError(`"${path}" is too large to quote a line the diff does not show`);
    }
    const bytes = Buffer.alloc(size);
    let got = 0;
    while (got < size) {
      const r = readSync(fd, bytes, got, size - got, got);
      if (r === 0) break;
      got += r;
    }
    const lines = new TextDecoder().decode(bytes.subarray(0, got)).split("\n");
    if (lines.at(-1) === "") lines.pop();
    return { text: lines[n - 1] ?? null, lines: lines.length };
  } finally {
    closeSync(fd);
  }
}

/** quoteOf finds the lines comment `c` on `file` is about, or says why it cannot. */
function quoteOf(diff: TaskDiff, file: DiffFile, c: ReviewNote): string[] {
  const line = c.line!;
  const side = c.side ?? "new";
  const what = `Comment on "${c.file}" line ${line}${side === "old" ? " (old)" : ""}`;
  if (file.binary) {
    throw new ValidationError(`${what}: the file is binary; comment on the file, without a line`);
  }
  const lines = parsePatch(file.patch);
  const at = findLine(lines, line, side);
  if (at >= 0) {
    const hunk = lines[at]!.hunk;
    const from = Math.max(0, at - BEFORE);
    return lines.slice(from, at + 1)
      .filter((l) => l.hunk === hunk && l.kind !== "hunk" && l.kind !== "note")
      .map((l) => cut(`${MARK[l.kind]}${l.text}`));
  }
  if (side === "old" || file.status === "deleted" || diff.workspace === null) {
    throw new ValidationError(`${what}: the diff does not show that line`);
  }
  let read: ReturnType<typeof fileLine>;
  try {
    read = fileLine(diff.workspace, file.path, line);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`${what}: cannot read the file (${(err as Error).message})`);
  }
  if (read.text === null) {
    throw new ValidationError(`${what}: the file has ${read.lines} lines`);
  }
  return [cut(` ${read.text}`)];
}

/**
 * quoteComments checks each comment against `diff` (its file must be one the diff changed)
 * and adds the quoted lines; a ValidationError names the comment that does not fit.
 */
export function quoteComments(
  diff: TaskDiff,
  comments: readonly ReviewNote[],
): ReviewCommentInput[] {
  if (!diff.available) return comments.map((c) => ({ ...c }));
  return comments.map((c) => {
    const file = diff.files.find((f) => f.path === c.file || f.old_path === c.file);
    if (file === undefined) {
      const names = diff.files.slice(0, 5).map((f) => `"${f.path}"`).join(", ");
      const more = diff.files_total > 5 ? `, and ${diff.files_total - 5} more` : "";
      throw new ValidationError(
        `Comment on "${c.file}": not a file this task changed (${
          diff.files_total === 0 ? "it changed none" : `${names}${more}`
        })`,
      );
    }
    const base = { file: file.path, body: c.body };
    if (c.line === undefined) return base;
    return { ...base, line: c.line, side: c.side ?? "new", quote: quoteOf(diff, file, c) };
  });
}
