/**
 * Usage: what one run cost, in tokens by kind and, where the agent CLI reports it, in US
 * dollars. The dispatcher reads it from the CLI's machine-readable output (source "output");
 * a worker whose CLI kanban cannot read reports it itself with `complete`/`block` (source
 * "reported"). A run holds one usage record: figures read from the output replace reported
 * ones, never add to them.
 *
 * Token kinds do not overlap: `input_tokens` are fresh input tokens, not counting those read
 * from or written to a prompt cache; the input a model saw is the sum of the three.
 * `output_tokens` include reasoning tokens; `reasoning_tokens` says how many of them were.
 */
import { z } from "zod";

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** UsageInput: the figures a worker may report (any subset; a missing count is 0). */
export const UsageInput = z.object({
  input_tokens: count.default(0),
  output_tokens: count.default(0),
  cache_read_tokens: count.default(0),
  cache_write_tokens: count.default(0),
  reasoning_tokens: count.optional(),
  models: z.array(z.string().min(1).max(200)).max(20).default([]),
  turns: count.optional(),
  cost_usd: z.number().nonnegative().max(1e9).optional(),
}).strict();

export const USAGE_SOURCES = ["output", "reported"] as const;
export type UsageSource = (typeof USAGE_SOURCES)[number];

export const UsageSchema = UsageInput.extend({ source: z.enum(USAGE_SOURCES) });
export type Usage = z.output<typeof UsageSchema>;
export type UsageInput = z.input<typeof UsageInput>;

/** emptyUsage is the zero record a parser adds figures to. */
export function emptyUsage(source: UsageSource): Usage {
  return {
    input_tokens: 0,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    models: [],
    source,
  };
}

export { totalTokens } from "./usage_text.ts";
