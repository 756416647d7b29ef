/**
 * A preset is everything kanban knows about running one agent CLI unattended: its headless
 * argv, what one run adds to it (sandbox roots for the board's folder, kanban's MCP server,
 * trust), how its machine-readable output shows usage and reads for a person, and what to
 * warn about before a run. Each preset lives in its own file; `mod.ts` lists them.
 */
import type { Usage } from "../../store/usage.ts";
import type { FailureClass } from "../quota.ts";

/** The variables that bind a process to its run, which presets pass to kanban's MCP server. */
export { WORKER_ENV } from "../../worker_env.ts";

/** What a preset knows about the run it prepares. */
export interface LaunchContext {
  /** Absolute path of the kanban binary the worker calls (first on its PATH). */
  kanban: string;
  /** The board file; SQLite also writes `-wal` and `-shm` files beside it. */
  board: string;
  /** The worker's environment as the dispatcher built it (its own, the profile's, the run's). */
  env: Readonly<Record<string, string>>;
  /** The profile's own `args` (already on the command line, after the preset's argv). */
  args: readonly string[];
  /** The profile asks for kanban's MCP server (`mcp = true`). */
  mcp: boolean;
  /** A path private to this run, next to its log: `runFile("gemini.json")`. */
  runFile(name: string): string;
  /**
   * The run's workspace (its cwd). `own`: a scratch folder kanban made for the task, where a
   * preset may write a file of its own; a `dir:` or `worktree` workspace is the user's.
   */
  workspace: { path: string; own: boolean };
}

/** What one run adds to the preset's argv and environment. */
export interface Launch {
  /** Appended after the preset's argv and the profile's args. */
  args?: string[];
  /** Set in the worker's environment (after the profile's env). */
  env?: Record<string, string>;
  /** Files written before the worker starts: path -> content (0600; folders made as needed). */
  files?: Record<string, string>;
}

export interface Preset {
  /** The headless argv; `{prompt}` and the other placeholders are filled per run. */
  argv: readonly string[];
  /** The CLI can be handed kanban's MCP server for one run (`mcp = true`). */
  mcp: boolean;
  /**
   * `prompt`: the CLI reads the prompt on stdin (from the run's prompt file) instead of from
   * `{prompt}` in its argv, for a CLI that alters an argument on its way to the model.
   * Omitted: stdin is empty (closed at once).
   */
  stdin?: "prompt";
  /** What one run adds (omitted: nothing). */
  launch?(ctx: LaunchContext): Launch;
  /**
   * usage reads the run's usage from its log (the CLI's stdout and stderr, line by line) and,
   * where the CLI writes it elsewhere, from the run's own files (`file("x.json")` is the text
   * of the file `launch()` named `ctx.runFile("x.json")`, or null; absent in tests that give
   * lines only); null when there is none.
   * Never throws: malformed output is no usage.
   */
  usage?(lines: readonly string[], file?: (name: string) => string | null): Usage | null;
  /**
   * readable turns one line of machine-readable output into text a person reads (`kanban
   * log`, `tail`, a failed run's error); null hides the line. Omitted: lines are shown as is.
   */
  readable?(line: string): string | null;
  /**
   * Warnings about running this CLI here with this environment, and with kanban's MCP server
   * when the profile asks for it (status, dry run, start-up).
   */
  check?(env: Readonly<Record<string, string | undefined>>, profile?: { mcp: boolean }): string[];
  /**
   * classifyFailure reads a failed run's output (stdout and stderr, line by line) and exit code
   * for a rate limit, an exhausted quota or an authentication failure, with the reset time the
   * CLI reported; null when it shows none. Omitted: the generic patterns of `quota.ts`.
   * Never throws.
   */
  classifyFailure?(
    lines: readonly string[],
    exitCode: number | null,
    now: number,
  ): FailureClass | null;
  /**
   * classifyLive reads the end of a running worker's output for its CLI stuck retrying a rate
   * limit, quota or failed sign-in (`retries` times in a row at least). Omitted: the generic
   * reading of `quota.ts`. Never throws.
   */
  classifyLive?(lines: readonly string[], retries: number, now: number): FailureClass | null;
}
