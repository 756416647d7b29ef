/**
 * Quoting board text in a worker's prompt (prompt.ts) so that no part of it can start a line
 * of its own: kanban alone writes headings and line starts.
 */

/**
 * Everything that some reader (a terminal, a markdown renderer, a tokenizer, Python's
 * splitlines) treats as the end of a line. Board text is split on all of them, so no part of
 * it can start a line of its own in a prompt.
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/g;

/** Control characters other than tab and line breaks, and the bidirectional overrides. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]/g;

/** visible shows a control character as its escape (`\u001b`) instead of acting on it. */
export function visible(text: string): string {
  return text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * quote marks user text as quoted material: every line, whatever breaks it, starts with "> ",
 * so the text can neither start a heading of its own nor end the quote.
 */
export function quote(text: string): string {
  return text.split(LINE_BREAK).map((line) => `> ${visible(line)}`).join("\n");
}

/** oneLine puts user text on the line kanban writes it into (line breaks become spaces). */
export function oneLine(text: string): string {
  return visible(text.replace(LINE_BREAK, " "));
}
