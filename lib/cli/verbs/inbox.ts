/**
 * `kanban inbox`: every task waiting on a person (blocked with a question, in review, in
 * triage), oldest wait first; and `kanban reply ID TEXT`, which answers a blocked task with a
 * comment and unblocks it in one transaction. Both are a person's verbs: inside a worker they
 * are refused (lib/cli/confine.ts lists neither).
 */
import type { Command } from "@commander-js/extra-typings";
import {
  COMMENT_MAX_CHARS,
  type Inbox,
  INBOX_MAX,
  type InboxItem,
  type InboxKind,
} from "../../store/mod.ts";
import { readCapped, TooLargeError } from "../../readcap.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { emit } from "../output.ts";
import { table, taskLine } from "../render.ts";
import { countOption } from "./runs.ts";

/** A comment of COMMENT_MAX_CHARS UTF-16 units is at most three times as many UTF-8 bytes. */
const REPLY_MAX_BYTES = 3 * COMMENT_MAX_CHARS;

/** waited is how long ago `since` was, as a person reads it: 45s, 12m, 3h, 2d. */
export function waited(since: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** firstLine is the first non-blank line of `text`, cut to `max` characters. */
function firstLine(text: string | null, max = 60): string {
  const line = (text ?? "").split("\n").map((l) => l.trim()).find((l) => l !== "") ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** What a person is asked about: the question, else the handoff (summary, then result). */
function ask(i: InboxItem): string {
  return firstLine(i.question ?? i.summary ?? i.result) || "-";
}

const KINDS: readonly InboxKind[] = ["question", "review", "triage"];

export function inboxRows(box: Inbox, now: number): string {
  if (box.total === 0) return "Nothing waits on a person.";
  const counts = KINDS.filter((k) => box.by_kind[k] > 0).map((k) => `${box.by_kind[k]} ${k}`);
  const shown = box.items.length < box.total ? `, the oldest ${box.items.length} shown` : "";
  return [
    table([
      ["ID", "KIND", "WAITING", "TITLE", "QUESTION / HANDOFF"],
      ...box.items.map((i) => [
        i.id,
        i.kind,
        waited(i.waiting_since, now),
        firstLine(i.title, 50),
        ask(i),
      ]),
    ]),
    "",
    `${box.total} waiting on a person (${counts.join(", ")})${shown}`,
  ].join("\n");
}

/**
 * replyText takes the reply from the argument or `--body-file PATH` (`-` reads standard input),
 * exactly one of them; a file is read up to the largest comment and no further.
 */
async function replyText(
  ctx: CliContext,
  text: string | undefined,
  file: string | undefined,
): Promise<string> {
  if (text !== undefined && file !== undefined) {
    throw new UsageError("Give the reply as TEXT or with --body-file, not both");
  }
  if (file === undefined) {
    if (text === undefined) throw new UsageError("Expected ID TEXT (or ID --body-file FILE)");
    return text;
  }
  const what = file === "-" ? "--body-file - (standard input)" : `--body-file "${file}"`;
  let read: string;
  try {
    read = file === "-"
      ? await ctx.readStdin(REPLY_MAX_BYTES, what)
      : readCapped(file, REPLY_MAX_BYTES, what);
  } catch (err) {
    if (err instanceof TooLargeError) throw tooLarge(what);
    throw new UsageError(`Cannot read ${what}: ${(err as Error).message}`);
  }
  // the size once more, for a readStdin that does not cap (tests inject one)
  if (new TextEncoder().encode(read).length > REPLY_MAX_BYTES) throw tooLarge(what);
  return read;
}

function tooLarge(what: string): UsageError {
  return new UsageError(
    `${what} is longer than a comment may be (${COMMENT_MAX_CHARS} characters; reading stopped)`,
  );
}

export function register(program: Command, ctx: CliContext): void {
  program.command("inbox")
    .description("tasks waiting on a person (blocked, review, triage), oldest wait first")
    .option("--tenant <name>", "only this tenant")
    .option(
      "-n, --limit <n>",
      `at most this many (default 500, at most ${INBOX_MAX})`,
      countOption("--limit"),
    )
    .action(async (opts, cmd) => {
      if (opts.limit !== undefined && opts.limit > INBOX_MAX) {
        throw new UsageError(`--limit "${opts.limit}" is above ${INBOX_MAX}`);
      }
      using s = session(ctx, cmd);
      const box = await s.store.inbox({ tenant: opts.tenant, limit: opts.limit });
      emit(ctx, s.json, box, () => inboxRows(box, ctx.now()));
    });

  program.command("reply")
    .description("answer a blocked task: add TEXT as a comment and unblock it, in one action")
    .argument("<id>", "task id or unique prefix")
    .argument("[text]", "the answer (markdown)")
    .option("--body-file <path>", "read the answer from a file (- for stdin)")
    .action(async (id, text, opts, cmd) => {
      const body = await replyText(ctx, text, opts.bodyFile);
      using s = session(ctx, cmd);
      const r = await s.store.reply(id, body, s.actor);
      emit(ctx, s.json, r, () => `${taskLine(r.task)}  (replied: comment ${r.comment.id})`);
    });
}
