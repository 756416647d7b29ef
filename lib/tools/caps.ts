/**
 * Output caps for agents: an agent pays for every token it reads, so the MCP surface cuts
 * long texts and long histories and says what it left out. The CLI prints in full unless a
 * flag asks otherwise.
 */
import type { Task } from "../store/mod.ts";

export interface Caps {
  /** A task body, in characters. */
  body: number;
  /** Any other text (comment, summary, error, result, metadata JSON), in characters. */
  text: number;
  /** The most recent comments, events and runs that `show` includes. */
  comments: number;
  events: number;
  runs: number;
  /** Linked tasks listed per list: parents, children, a run's `created_tasks`. */
  links: number;
  /** `list` page size when none is asked for, and the largest allowed. */
  pageSize: number;
  maxPageSize: number;
}

/** AGENT_CAPS are the caps of `kanban mcp`. */
export const AGENT_CAPS: Caps = {
  body: 4_000,
  text: 1_000,
  comments: 10,
  events: 20,
  runs: 5,
  links: 50,
  pageSize: 50,
  maxPageSize: 200,
};

/** clip shortens `text` to `max` characters and says how many it cut. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}\n[... truncated: ${text.length - max} more characters]`;
}

/** clipJson keeps a JSON value whose text fits in `max`, or else its cut text. */
export function clipJson<T>(value: T, max: number): T | { truncated_json: string } {
  const text = JSON.stringify(value);
  return text.length <= max ? value : { truncated_json: clip(text, max) };
}

/** clipNullable clips a text that may be null. */
export function clipNullable(text: string | null, max: number): string | null {
  return text === null ? null : clip(text, max);
}

/**
 * capTask is a task as a write confirmation shows it to an agent: without the body (the
 * agent has it, or reads it with show) and with the result cut.
 */
export function capTask<T extends Task>(task: T, caps: Caps): Omit<T, "body"> {
  const { body: _body, ...rest } = task;
  return { ...rest, result: clipNullable(task.result, caps.text) };
}
