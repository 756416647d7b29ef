/**
 * The worker environment: the `KANBAN_*` variables that bind a process to its run. This module
 * owns their names and meaning. The dispatcher encodes them for a worker's launch
 * (lib/dispatch/launch.ts), and the CLI and the MCP server a worker starts decode them
 * (lib/cli/context.ts, lib/cli/confine.ts), so both ends agree by construction. It is a leaf
 * (only lib/errors.ts), so that lib/config, lib/dispatch and every surface can use it.
 */
import { ValidationError } from "./errors.ts";

/** WorkerEnv is what a worker is told about its run, one field per variable. */
export interface WorkerEnv {
  /** KANBAN_TASK: the task's full id; the CLI's ids default to it. */
  task: string;
  /** KANBAN_RUN: the run's id. */
  run: number;
  /** KANBAN_TOKEN: the run's lease token, attached to every write (secret). */
  token: string;
  /**
   * KANBAN_DB: the board file, when the worker opens the board itself; null when it reaches
   * the board through its dispatcher's socket (never a server database's URL: it holds the
   * password).
   */
  db: string | null;
  /**
   * KANBAN_SOCKET: the dispatcher's unix socket, through which the worker reaches the board
   * with its run's token (lib/store/remote.ts), or null when it opens the board itself.
   */
  socket: string | null;
  /** KANBAN_BOARD: the board's name, when it has one (not a `--db` path). */
  board: string | null;
  /** KANBAN_WORKSPACE: the run's workspace, the worker's cwd. */
  workspace: string;
  /** KANBAN_PROFILE: the profile running the task: the worker's actor name. */
  profile: string;
  /** KANBAN_TENANT: the task's tenant, which its follow-ups inherit. */
  tenant: string | null;
  /** KANBAN_BIN: the kanban binary the worker calls. */
  bin: string;
  /** KANBAN_PROMPT_FILE: the file holding the worker's prompt. */
  promptFile: string;
  /**
   * KANBAN_LEASE_MS: the run's lease length. The dispatcher renews the lease while the worker
   * lives, so a report that meets an unreachable board is retried for this long at most.
   */
  leaseMs: number;
  /**
   * KANBAN_REPORT_FILE: where a report that could not be delivered is left for the dispatcher,
   * which delivers it (or records why it could not) when the worker exits.
   */
  reportFile: string;
}

/** The variable of each field. */
export const WORKER_VARS = {
  task: "KANBAN_TASK",
  run: "KANBAN_RUN",
  token: "KANBAN_TOKEN",
  db: "KANBAN_DB",
  socket: "KANBAN_SOCKET",
  board: "KANBAN_BOARD",
  workspace: "KANBAN_WORKSPACE",
  profile: "KANBAN_PROFILE",
  tenant: "KANBAN_TENANT",
  bin: "KANBAN_BIN",
  promptFile: "KANBAN_PROMPT_FILE",
  leaseMs: "KANBAN_LEASE_MS",
  reportFile: "KANBAN_REPORT_FILE",
} as const satisfies Record<keyof WorkerEnv, string>;

/**
 * WORKER_ENV lists the variables that bind a process to its run: an MCP server the worker's
 * CLI starts (`kanban mcp`) needs them too, so presets pass exactly these through.
 */
export const WORKER_ENV = [
  WORKER_VARS.task,
  WORKER_VARS.run,
  WORKER_VARS.token,
  WORKER_VARS.db,
  WORKER_VARS.socket,
  WORKER_VARS.board,
  WORKER_VARS.workspace,
  WORKER_VARS.profile,
  WORKER_VARS.tenant,
  WORKER_VARS.bin,
  WORKER_VARS.leaseMs,
  WORKER_VARS.reportFile,
] as const;

/** An environment as a process sees it. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * encodeWorkerEnv is the variables of `w`, in launch order; an absent board file, socket, board
 * name or tenant is unset.
 */
export function encodeWorkerEnv(w: WorkerEnv): Record<string, string> {
  return {
    [WORKER_VARS.task]: w.task,
    [WORKER_VARS.run]: String(w.run),
    [WORKER_VARS.token]: w.token,
    ...(w.db !== null ? { [WORKER_VARS.db]: w.db } : {}),
    ...(w.socket !== null ? { [WORKER_VARS.socket]: w.socket } : {}),
    ...(w.board ? { [WORKER_VARS.board]: w.board } : {}),
    [WORKER_VARS.workspace]: w.workspace,
    [WORKER_VARS.profile]: w.profile,
    ...(w.tenant !== null ? { [WORKER_VARS.tenant]: w.tenant } : {}),
    [WORKER_VARS.bin]: w.bin,
    [WORKER_VARS.promptFile]: w.promptFile,
    [WORKER_VARS.leaseMs]: String(w.leaseMs),
    [WORKER_VARS.reportFile]: w.reportFile,
  };
}

/**
 * DecodedWorkerEnv is what a process finds of its WorkerEnv: each field, or null when its
 * variable is unset or empty. A person's shell has none; `eval $(kanban claim)` sets three.
 */
export type DecodedWorkerEnv = { [K in keyof WorkerEnv]: WorkerEnv[K] | null };

/** Task ids as the store makes them (`t_` and hex): the dispatcher sets the full id. */
const TASK_ID = /^t_[0-9a-f]+$/;
const RUN_ID = /^[1-9][0-9]{0,15}$/;

/**
 * decodeWorkerEnv reads the worker variables of `env`. A value that cannot be what its
 * variable means (a task id that is not one, a run id that is not a positive whole number) is
 * refused with a ValidationError naming the variable, rather than acting on the wrong task.
 */
export function decodeWorkerEnv(env: Env): DecodedWorkerEnv {
  const get = (name: string) => env[name] || null;
  const task = get(WORKER_VARS.task);
  if (task !== null && !TASK_ID.test(task)) {
    throw bad(WORKER_VARS.task, task, "a task id (t_ and hex digits, as kanban claim prints)");
  }
  const run = get(WORKER_VARS.run);
  if (run !== null && !RUN_ID.test(run)) {
    throw bad(WORKER_VARS.run, run, "a run id (a positive whole number)");
  }
  const leaseMs = get(WORKER_VARS.leaseMs);
  if (leaseMs !== null && !RUN_ID.test(leaseMs)) {
    throw bad(WORKER_VARS.leaseMs, leaseMs, "a lease length in ms (a positive whole number)");
  }
  return {
    task,
    run: run === null ? null : Number(run),
    token: get(WORKER_VARS.token),
    db: get(WORKER_VARS.db),
    socket: get(WORKER_VARS.socket),
    board: get(WORKER_VARS.board),
    workspace: get(WORKER_VARS.workspace),
    profile: get(WORKER_VARS.profile),
    tenant: get(WORKER_VARS.tenant),
    bin: get(WORKER_VARS.bin),
    promptFile: get(WORKER_VARS.promptFile),
    leaseMs: leaseMs === null ? null : Number(leaseMs),
    reportFile: get(WORKER_VARS.reportFile),
  };
}

function bad(name: string, value: string, what: string): ValidationError {
  const shown = value.length > 80 ? `${value.slice(0, 80)}...` : value;
  return new ValidationError(`${name} is ${JSON.stringify(shown)}, which is not ${what}`);
}

/** WorkerBinding is a worker's hold on its run: its task, its lease token, its tenant. */
export type WorkerBinding = Pick<WorkerEnv, "task" | "token" | "tenant">;

/**
 * workerBindingOf is the binding of a process started for a run (both KANBAN_TASK and
 * KANBAN_TOKEN set), or null: ids then default to its task and writes carry its token.
 */
export function workerBindingOf(w: DecodedWorkerEnv): WorkerBinding | null {
  return w.task !== null && w.token !== null
    ? { task: w.task, token: w.token, tenant: w.tenant }
    : null;
}

/** inWorker tells whether either binding variable is set: half a binding still confines. */
export function inWorker(w: DecodedWorkerEnv): boolean {
  return w.task !== null || w.token !== null;
}
