/** `heartbeat`: renew the worker's lease and record what it is doing (workers only). */
import { z } from "zod";
import type { Run } from "../store/mod.ts";
import { ownTarget } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";

export const HeartbeatInput = z.strictObject({
  id: z.string().optional().describe("task id (default: your task)"),
  note: z.string().optional().describe("what you are doing now"),
});

export async function heartbeat(
  deps: ToolDeps,
  input: z.output<typeof HeartbeatInput>,
): Promise<Run> {
  const t = await ownTarget(deps, input.id, "heartbeat");
  return await deps.store.heartbeat(t.id, t.actor, input.note);
}
