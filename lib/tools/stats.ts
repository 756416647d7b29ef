/** `stats`: task counts by status, run outcomes, the oldest ready task, completions in 24 h. */
import { z } from "zod";
import type { Stats } from "../store/mod.ts";
import type { ToolDeps } from "./tool.ts";

export const StatsInput = z.strictObject({
  tenant: z.string().optional().describe("only this tenant"),
});

export async function stats(deps: ToolDeps, input: z.output<typeof StatsInput>): Promise<Stats> {
  return await deps.store.stats(input.tenant);
}
