/**
 * Handoff lines: what a finished task's card says about its result, read for a whole column
 * of the board with one query.
 */
import type { Kernel } from "./_kernel.ts";

/** The longest handoff line the board carries: a card shows two lines of it at most. */
const LINE_MAX = 200;

/**
 * firstLine is the first line of `text` that is not blank, trimmed and cut to LINE_MAX
 * characters (with "…" when cut); null when there is none.
 */
export function firstLine(text: string | null): string | null {
  const line = text?.split("\n").map((l) => l.trim()).find((l) => l !== "");
  if (line === undefined) return null;
  return line.length > LINE_MAX ? `${line.slice(0, LINE_MAX - 1)}…` : line;
}

/**
 * handoffs reads the first line of the handoff of each task in `ids`: its `result` when the
 * completion gave one, else the summary of its latest completion (the `completed` event holds
 * it also when a person completed the task), else the latest summary a run recorded (events of
 * long-finished tasks may have been pruned). Tasks without any are absent from the map.
 */
export async function handoffs(
  k: Kernel,
  ids: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  for (const r of await k.q.handoffTexts(ids)) {
    const line = firstLine(typeof r.text === "string" ? r.text : null);
    if (line !== null) out.set(r.id, line);
  }
  return out;
}
