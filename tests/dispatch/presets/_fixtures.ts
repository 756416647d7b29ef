/** What the preset unit tests share: their captured fixtures and a run's LaunchContext. */
import { readFileSync } from "node:fs";
import type { LaunchContext } from "../../../lib/dispatch/presets/preset.ts";

/** fixture is the text of fixtures/`file`, captured from a real run. */
export function fixture(file: string): string {
  return readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8");
}

/**
 * fixtureLines is fixtures/`name`.jsonl, a real run's output, as its lines (split on "\n", so
 * the last is the empty string after the final newline).
 */
export function fixtureLines(name: string): string[] {
  return fixture(`${name}.jsonl`).split("\n");
}

/**
 * launchContext is a LaunchContext for run 1 of task t_1 on the default board under
 * /home/u/.kanban, in its scratch workspace, with kanban's MCP server asked for, no worker
 * variables and no profile args; `over` replaces any of these.
 */
export function launchContext(over: Partial<LaunchContext> = {}): LaunchContext {
  return {
    kanban: "/opt/kanban/bin/kanban",
    board: "/home/u/.kanban/boards/default/board.db",
    env: {},
    args: [],
    mcp: true,
    runFile: (name) => `/home/u/.kanban/logs/default/t_1/run-1.${name}`,
    workspace: { path: "/home/u/.kanban/workspaces/default/scratch/t_1", own: true },
    ...over,
  };
}
