/**
 * `link`: make CHILD wait for PARENT (the child starts once the parent is done and receives
 * its handoff). A worker may link only tasks its run created, while that run is open.
 */
import { z } from "zod";
import type { LinkResult } from "../store/mod.ts";
import { originActor } from "./_target.ts";
import type { ToolDeps } from "./tool.ts";

export const LinkInput = z.strictObject({
  parent: z.string().describe("the task to wait for"),
  child: z.string().describe("the waiting task"),
});

export function link(deps: ToolDeps, input: z.output<typeof LinkInput>): Promise<LinkResult> {
  return deps.store.link(input.parent, input.child, originActor(deps));
}
