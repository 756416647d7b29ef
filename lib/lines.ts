/**
 * Reads a stream of bytes (a file, standard input) as lines of UTF-8 text, holding at most one
 * line and one chunk at a time: a JSON Lines file of any size is read in bounded memory.
 */
import { KanbanError } from "./errors.ts";

/** The longest line read (a task with a 1 MiB body, escaped as JSON, fits many times over). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/**
 * lines yields each line of `chunks` without its line feed (a carriage return before it is
 * dropped too); a last line without a line feed is yielded as well. A line longer than
 * `maxLine` characters throws, naming `what` and the line.
 */
export async function* lines(
  chunks: AsyncIterable<Uint8Array | string>,
  what: string,
  maxLine = MAX_LINE_BYTES,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  let n = 0;
  const cut = (line: string) => (line.endsWith("\r") ? line.slice(0, -1) : line);
  for await (const chunk of chunks) {
    rest += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let at = rest.indexOf("\n"); at >= 0; at = rest.indexOf("\n", start)) {
      n++;
      yield cut(rest.slice(start, at));
      start = at + 1;
    }
    rest = rest.slice(start);
    if (rest.length > maxLine) {
      throw new KanbanError(
        "too_large",
        `${what}: line ${n + 1} is longer than ${maxLine} characters (reading stopped there)`,
      );
    }
  }
  rest += decoder.decode();
  if (rest !== "") yield cut(rest);
}
