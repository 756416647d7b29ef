/**
 * Review comments: what a person says about a file, or a line of it, when they send a task's
 * work back. A rejection becomes one comment on the task that holds the reason and each
 * comment with its context (the file, the line, and the diff lines it is about quoted with
 * `>`), so the next worker's prompt, which carries the task's recent comments, shows them.
 * The surfaces find the quoted lines in the diff (lib/review/quote.ts); the store checks sizes
 * and writes the comment.
 */
import { z } from "zod";
import { COMMENT_MAX_CHARS } from "./comments.ts";
import { ValidationError } from "./errors.ts";
import { noNul } from "./input.ts";

export const REVIEW_COMMENTS_MAX = 50;
export const REVIEW_COMMENT_MAX_CHARS = 4000;
export const REVIEW_QUOTE_LINES_MAX = 5;
export const REVIEW_QUOTE_LINE_MAX_CHARS = 500;

const nonEmpty = (s: string) => s.trim().length > 0;

/** The fields a person writes (the API's review comment; the store's adds the quote). */
export const reviewCommentFields = {
  file: z.string().refine(nonEmpty, "file is empty").max(
    1000,
    "file is longer than 1000 characters",
  )
    .refine((s) => !/[\r\n]/.test(s), "file must be one line").refine(noNul, "file contains NUL")
    .describe("a path the diff changed (or any name, for a task without a diff)"),
  line: z.number().int("line must be a whole number").min(1, "line is below 1")
    .max(10_000_000, "line is above 10000000").optional()
    .describe("the line's number in the file; without it, the comment is about the whole file"),
  side: z.enum(["old", "new"]).optional()
    .describe("new (default): the line in the changed file; old: a line the change deleted"),
  body: z.string().refine(nonEmpty, "body is empty")
    .max(REVIEW_COMMENT_MAX_CHARS, `body is longer than ${REVIEW_COMMENT_MAX_CHARS} characters`)
    .refine(noNul, "body contains a NUL character"),
};

/** sideNeedsLine: `side` says which version a line is in; a file comment has none. */
export const sideNeedsLine: [
  (c: { side?: unknown; line?: unknown }) => boolean,
  { message: string; path: string[] },
] = [
  (c) => c.side === undefined || c.line !== undefined,
  { message: "side needs a line", path: ["side"] },
];

export const ReviewComment = z.strictObject({
  ...reviewCommentFields,
  quote: z.array(
    z.string().max(REVIEW_QUOTE_LINE_MAX_CHARS, "a quoted line is too long")
      .refine(noNul, "a quoted line contains NUL"),
  ).max(REVIEW_QUOTE_LINES_MAX, `more than ${REVIEW_QUOTE_LINES_MAX} quoted lines`).optional()
    .describe("the diff lines the comment is about, each with its +, - or space marker"),
}).refine(...sideNeedsLine);

export const ReviewComments = z.array(ReviewComment)
  .max(REVIEW_COMMENTS_MAX, `more than ${REVIEW_COMMENTS_MAX} review comments`);

export type ReviewCommentInput = z.input<typeof ReviewComment>;
export type ReviewCommentValue = z.output<typeof ReviewComment>;

/** fenceFor is a code fence longer than any backtick run in `lines`. */
function fenceFor(lines: readonly string[]): string {
  const longest = Math.max(0, ...lines.flatMap((l) => (l.match(/`+/g) ?? []).map((r) => r.length)));
  return "`".repeat(Math.max(3, longest + 1));
}

/** codeSpan writes a file name in backticks that no backtick run inside it can close. */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const tick = "`".repeat(longest + 1);
  return longest === 0 ? `${tick}${text}${tick}` : `${tick} ${text} ${tick}`;
}

function where(c: ReviewCommentValue): string {
  if (c.line === undefined) return `${codeSpan(c.file)}:`;
  return `${codeSpan(c.file)} ${c.side === "old" ? "old line" : "line"} ${c.line}:`;
}

/** quoted is the diff lines of a comment, as a diff block inside a `>` quote. */
function quoted(lines: readonly string[]): string {
  const fence = fenceFor(lines);
  return [`${fence}diff`, ...lines, fence].map((l) => `> ${l}`.trimEnd()).join("\n");
}

/** How every rejection's comment begins (the worker's context gives the newest more room). */
export const REJECTION_PREFIX = "Review rejected";

/**
 * rejectionText is the comment a rejection leaves: the reason, then every review comment
 * with its file, line and quoted diff lines. Null when there is neither reason nor comment.
 */
export function rejectionText(
  reason: string | undefined,
  comments: readonly ReviewCommentValue[],
): string | null {
  if (comments.length === 0) return reason ? `${REJECTION_PREFIX}: ${reason}` : null;
  const head = reason
    ? `${REJECTION_PREFIX}: ${reason}\n\nComments on the changes (${comments.length}):`
    : `${REJECTION_PREFIX}. Comments on the changes (${comments.length}):`;
  const parts = comments.map((c) =>
    [where(c), ...(c.quote && c.quote.length > 0 ? [quoted(c.quote)] : []), c.body.trim()]
      .join("\n\n")
  );
  return [head, ...parts].join("\n\n");
}

/**
 * rejectionComment is rejectionText checked against a task comment's limit: the whole review
 * must fit in the one comment the next worker reads.
 */
export function rejectionComment(
  reason: string | undefined,
  comments: readonly ReviewCommentValue[],
): string | null {
  const text = rejectionText(reason, comments);
  if (text !== null && text.length > COMMENT_MAX_CHARS) {
    throw new ValidationError(
      `The review is ${text.length} characters with its comments and quotes; a task comment ` +
        `holds at most ${COMMENT_MAX_CHARS}: shorten the reason or the comments`,
    );
  }
  return text;
}
