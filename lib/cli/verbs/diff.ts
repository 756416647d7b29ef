/**
 * `kanban diff ID`: what a worktree task changed against its base, read from its worktree with
 * git (commits on its branch, uncommitted and untracked files): the branch, the base and the
 * unified diff; `--stat` lists the files with their counts, `--name-only` their paths. The diff
 * is agent-written text: it reaches the terminal only through the sanitizer. Also the review
 * comments of `kanban review --reject --comment "path:line: text"`, quoted from that diff.
 */
import type { Command } from "@commander-js/extra-typings";
import { resolveBoard } from "../../config/paths.ts";
import { KanbanError, type Store } from "../../store/mod.ts";
import type { ReviewCommentInput } from "../../store/review_comments.ts";
import {
  type DiffFile,
  quoteComments,
  type ReviewNote,
  reviewSettings,
  type TaskDiff,
  taskDiff,
} from "../../review/mod.ts";
import { type CliContext, globals, type HasGlobals, session, UsageError } from "../context.ts";
import { colourOutput, emit, print } from "../output.ts";
import { terminalText } from "../sanitize.ts";
import { table } from "../render.ts";

/** settings reads where the board's worktrees are (config.toml), as the dispatcher does. */
function settings(ctx: CliContext, cmd: HasGlobals, configFile?: string) {
  return reviewSettings(ctx.env, resolveBoard(globals(cmd), ctx.env, ctx.cwd), configFile);
}

const short = (sha: string | null) => (sha === null ? "-" : sha.slice(0, 12));

function header(d: TaskDiff): string {
  const files = d.files_total === 1 ? "1 file" : `${d.files_total} files`;
  return [
    `task:   ${d.task}`,
    `branch: ${d.branch ?? "(detached HEAD)"}`,
    `base:   ${short(d.base)}${d.base_ref ? ` (merge base with ${d.base_ref})` : ""}`,
    `head:   ${short(d.head)}`,
    `files:  ${files} changed, +${d.additions} -${d.deletions}`,
  ].join("\n");
}

function name(f: DiffFile): string {
  return f.old_path === null ? f.path : `${f.old_path} -> ${f.path}`;
}

function statRows(d: TaskDiff): string {
  if (d.files.length === 0) return "no changes";
  return table(d.files.map((f) => [
    f.status,
    f.binary ? "binary" : `+${f.additions} -${f.deletions}`,
    name(f),
  ]));
}

const SGR = { add: "\x1b[32m", del: "\x1b[31m", hunk: "\x1b[36m", meta: "\x1b[1m", off: "\x1b[0m" };

/** colour marks a (sanitized) patch line as git does: added green, deleted red, hunks cyan. */
function colour(line: string): string {
  const c = line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff --git")
    ? SGR.meta
    : line.startsWith("+")
    ? SGR.add
    : line.startsWith("-")
    ? SGR.del
    : line.startsWith("@@")
    ? SGR.hunk
    : "";
  return c === "" ? line : `${c}${line}${SGR.off}`;
}

/** printPatch writes the patches; on a terminal in colour, each line sanitized first. */
function printPatch(ctx: CliContext, d: TaskDiff): void {
  const text = d.files.map((f) => f.patch).join("");
  if (!colourOutput(ctx)) return print(ctx, text);
  ctx.stdout(text.split("\n").map((l) => colour(terminalText(l))).join("\n"));
}

/** truncation names what the caps left out (on stderr: stdout stays a patch git can apply). */
function truncation(d: TaskDiff): string | null {
  if (!d.truncated) return null;
  const cut = d.files.filter((f) => f.truncated).map((f) => f.path);
  const left = d.files_total - d.files.length;
  return [
    "kanban: the diff was cut to its size limits (1 MiB in all, 256 KiB a file)",
    cut.length > 0 ? `: patch cut or left out for ${cut.length} file(s)` : "",
    left > 0 ? `; ${left} more file(s) not listed` : "",
  ].join("");
}

export function register(program: Command, ctx: CliContext): void {
  program.command("diff")
    .description("show what a worktree task changed: branch, base and unified diff")
    .argument("<id>", "task id or unique prefix")
    .option("--stat", "list the changed files with their added and deleted lines")
    .option("--name-only", "list the changed files' paths only")
    .option("--config <path>", "config file (default: $KANBAN_CONFIG or <home>/config.toml)")
    .action(async (id, opts, cmd) => {
      if (opts.stat && opts.nameOnly) throw new UsageError("Give --stat or --name-only, not both");
      const where = settings(ctx, cmd, opts.config);
      using s = session(ctx, cmd);
      const d = await taskDiff(s.store, id, where);
      if (!d.available) {
        throw new KanbanError("no_diff", `No diff for task "${d.task}": ${d.reason}`);
      }
      if (s.json) return emit(ctx, true, d, () => "");
      if (opts.nameOnly) {
        if (d.files.length > 0) print(ctx, `${d.files.map((f) => f.path).join("\n")}\n`);
      } else if (opts.stat) {
        print(ctx, `${header(d)}\n\n${statRows(d)}\n`);
      } else {
        print(ctx, `${header(d)}\n\n`);
        printPatch(ctx, d);
      }
      const note = truncation(d);
      if (note !== null) ctx.stderr(`${note}\n`);
    });
}

/**
 * parseComment reads one `--comment`: `path:line: text` about a line, `path: text` about the
 * whole file.
 */
export function parseComment(text: string): ReviewNote {
  const line = /^(.+?):(\d+):\s*([\s\S]*)$/.exec(text);
  if (line) return { file: line[1]!, line: Number(line[2]), body: line[3]! };
  const file = /^(.+?):\s+([\s\S]*)$/.exec(text);
  if (file) return { file: file[1]!, body: file[2]! };
  throw new UsageError(
    `--comment "${text}" is neither "path:line: text" (a line) nor "path: text" (a file)`,
  );
}

/**
 * reviewComments parses `--comment` values and checks them against task `id`'s diff, quoting
 * the lines they are about (lib/review/quote.ts).
 */
export async function reviewComments(
  ctx: CliContext,
  cmd: HasGlobals,
  store: Store,
  id: string,
  texts: readonly string[],
): Promise<ReviewCommentInput[]> {
  const notes = texts.map(parseComment);
  return quoteComments(await taskDiff(store, id, settings(ctx, cmd)), notes);
}
