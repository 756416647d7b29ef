/**
 * What the CLI lets a worker run. Inside a worker (KANBAN_TASK or KANBAN_TOKEN set) a command
 * runs only when this table allows it: reads, the task verbs (whose writes the store confines
 * to the worker's own task and follow-ups: lib/store/confine.ts), and verbs that do not touch
 * the board. Every other command, board-wide administration included, is refused before its
 * action runs; a verb added later is refused inside a worker until it is listed here.
 */
import { type Confinement, KanbanError } from "../store/mod.ts";
import type { Env } from "../config/paths.ts";
import { type DecodedWorkerEnv, decodeWorkerEnv, inWorker } from "../worker_env.ts";

/**
 * confinementOf is the confinement of a process started for a run: set as soon as either
 * KANBAN_TASK or KANBAN_TOKEN is (half a binding still confines; the store then refuses every
 * write that has no token), null for a person or the dispatcher.
 */
export function confinementOf(w: DecodedWorkerEnv): Confinement | null {
  return inWorker(w) ? { task: w.task, token: w.token } : null;
}

/**
 * How a command may run inside a worker: `read` reads the board; `task` writes, confined by
 * the store; `local` does not open the board. A function decides from the options.
 */
export type WorkerUse = "read" | "task" | "local";
type Rule = WorkerUse | ((opts: Record<string, unknown>) => WorkerUse | string);

/**
 * IN_WORKER lists every command a worker may run, by its path under `kanban`. A function
 * returns the use, or the reason the options make it refused.
 */
export const IN_WORKER: Readonly<Record<string, Rule>> = {
  // Reads: a worker reads the board (its parents' handoffs, its runs, the queue).
  list: "read",
  show: "read",
  runs: "read",
  context: "read",
  stats: "read",
  assignees: "read",
  status: "read",
  log: "read",
  tail: "read",
  diff: "read",
  watch: "read",
  "notify list": "read",
  "routine list": "read",
  "routine show": "read",
  attachments: "read",
  "attachment get": "read",
  doctor: (o) =>
    o["repair"] ? "doctor --repair ends other tasks' runs: board repair is for a person" : "read",
  // Task writes: allowed on the worker's own task (and creating and linking follow-ups); the
  // store refuses the same verbs on any other task (foreign_task).
  create: "task",
  edit: "task",
  assign: "task",
  link: "task",
  unlink: "task",
  claim: "task",
  heartbeat: "task",
  comment: "task",
  attach: "task",
  detach: "task",
  complete: "task",
  block: "task",
  "request-review": "task",
  "budget list": "read",
  "plan submit": "task",
  "plan show": "read",
  unblock: "task",
  promote: "task",
  review: "task",
  cancel: "task",
  archive: "task",
  unarchive: "task",
  reopen: "task",
  mcp: "task",
  // A template run creates its tasks as the run's follow-ups (the store confines them alike).
  "template run": "task",
  // Not the board: kanban's own skill files (fixed text) and shell completion scripts.
  "skills list": "local",
  "skills show": "local",
  "skills install": "local",
  completions: "local",
  // Template files: read and filled in, the board untouched.
  "template list": "local",
  "template validate": "local",
  "template show": "local",
};

/** Why the administrative verbs are refused, for the error message. */
const REFUSED: Readonly<Record<string, string>> = {
  init: "creating boards is for a person",
  dispatch: "a dispatcher starts workers and runs their profiles' commands",
  serve: "the dashboard and API act for a person, with the board's token",
  login: "a login link opens the dashboard as a person",
  gc: "gc deletes workspaces, logs and events of the whole board",
  backup: "a backup copies the whole board",
  export: "an export copies the whole board, its runs' lease tokens and webhook secrets included",
  import: "an import fills a whole board",
  "notify add": "a subscription runs a command or calls a webhook on every later event",
  "notify remove": "subscriptions are board-wide",
  "budget add": "budgets cap the whole fleet's spending: a person sets them",
  "budget remove": "budgets cap the whole fleet's spending: a person removes them",
  "notify enable": "subscriptions are board-wide",
  inbox: "the inbox is what waits on a person",
  reply: "a reply is a person's answer to a blocked task",
  "routine add": "a routine makes tasks on a schedule, long after the run has ended",
  "routine pause": "routines are board-wide",
  "routine resume": "routines are board-wide",
  "routine remove": "routines are board-wide",
  "routine run-now": "routines are board-wide",
};

/** The parts of a commander command that commandPath and refuseInWorker read. */
export interface CommandLike {
  name(): string;
  readonly parent: CommandLike | null;
  opts(): object;
}

/** commandPath is a command's path under the program: "notify add", "edit". */
export function commandPath(cmd: CommandLike): string {
  const names: string[] = [];
  for (let c: CommandLike | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** workerUse says how `cmd` may run inside a worker, or why it may not (a string). */
export function workerUse(cmd: CommandLike): WorkerUse | { refused: string } {
  const path = commandPath(cmd);
  const rule = IN_WORKER[path];
  if (rule === undefined) {
    return { refused: REFUSED[path] ?? "it is not a worker's command" };
  }
  const use = typeof rule === "function" ? rule(cmd.opts() as Record<string, unknown>) : rule;
  return use === "read" || use === "task" || use === "local" ? use : { refused: use };
}

/**
 * refuseInWorker throws `worker_forbidden` (exit code 1) when the process runs inside a
 * worker and IN_WORKER does not allow `cmd`; it is the program's preAction hook, so the
 * command's action never starts.
 */
export function refuseInWorker(env: Env, cmd: CommandLike): void {
  const binding = confinementOf(decodeWorkerEnv(env));
  if (binding === null) return;
  const use = workerUse(cmd);
  if (typeof use === "string") return;
  const who = binding.task ? `the worker of task "${binding.task}"` : "a worker";
  throw new KanbanError(
    "worker_forbidden",
    `"kanban ${
      commandPath(cmd)
    }" is refused inside ${who} (KANBAN_TASK/KANBAN_TOKEN set): ${use.refused}`,
  );
}
