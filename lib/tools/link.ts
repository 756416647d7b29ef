/**
 * `link`: make CHILD wait for PARENT (the child starts once the parent is done and receives
 * its handoff). A worker may link only tasks its run created, while that run is open.
 */
import { z } from "zod";
import type { Status } from "../store/mod.ts";
import { originActor } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";

export const LinkInput = z.strictObject({
  parent: z.string().describe("the task to wait for"),
  child: z.string().describe("the waiting task"),
});

export interface LinkOutput {
  parent: string;
  child: string;
  /** false when the link already existed. */
  changed: boolean;
  child_status: Status;
}

export async function link(deps: ToolDeps, input: z.output<typeof LinkInput>): Promise<LinkOutput> {
  const r = await deps.store.link(input.parent, input.child, originActor(deps));
  const child = await deps.store.getTask(r.child);
  return { ...r, child_status: child.status };
}
