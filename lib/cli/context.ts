/**
 * What a verb needs from the outside world, injected so that tests run the CLI in-process:
 * environment, working directory, output streams. `session()` opens the board a verb works
 * on and knows who is acting (a person, or a worker with its run's lease token).
 */
import { type Actor, KanbanError, openStore, type Store } from "../store/mod.ts";
import { type Env, resolveBoard } from "../config/paths.ts";

export interface CliContext {
  env: Env;
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Reads all of standard input (for `--body-file -`). */
  readStdin: () => Promise<string>;
  /** Clock for parsing relative times (`--not-before +2h`). */
  now: () => number;
}

export interface Globals {
  json: boolean;
  board?: string | undefined;
  db?: string | undefined;
}

/** HasGlobals is any command of the tree (verbs read the program's options through it). */
export interface HasGlobals {
  optsWithGlobals(): object;
}

export function globals(cmd: HasGlobals): Globals {
  const o = cmd.optsWithGlobals() as Record<string, unknown>;
  return {
    json: o["json"] === true,
    board: typeof o["board"] === "string" ? o["board"] : undefined,
    db: typeof o["db"] === "string" ? o["db"] : undefined,
  };
}

/** WorkerEnv is set when a command runs inside a worker started by the dispatcher. */
export interface WorkerEnv {
  task: string;
  token: string;
}

export function workerEnv(env: Env): WorkerEnv | null {
  const task = env["KANBAN_TASK"];
  const token = env["KANBAN_TOKEN"];
  return task && token ? { task, token } : null;
}

/** actorName says who is acting: $KANBAN_ACTOR, a worker's profile, or the login name. */
export function actorName(env: Env): string {
  return env["KANBAN_ACTOR"] || (workerEnv(env) ? env["KANBAN_PROFILE"] || "worker" : "") ||
    env["USER"] || env["LOGNAME"] || "cli";
}

export interface Session extends Disposable {
  store: Store;
  json: boolean;
  /** The acting person (no token). */
  actor: Actor;
  worker: WorkerEnv | null;
  /**
   * actorFor returns the actor for a write to `taskId`: inside a worker, writes to its own
   * task carry the lease token. Callers refuse writes to other tasks first.
   */
  actorFor(taskId: string): Actor;
}

export function session(
  ctx: CliContext,
  cmd: HasGlobals,
  opts: { create?: boolean } = {},
): Session {
  const g = globals(cmd);
  const board = resolveBoard(g, ctx.env, ctx.cwd);
  const store = openStore(board.path, { create: opts.create ?? false });
  const worker = workerEnv(ctx.env);
  const actor = { name: actorName(ctx.env) };
  return {
    store,
    json: g.json,
    actor,
    worker,
    actorFor: (taskId) =>
      worker && worker.task === taskId ? { ...actor, token: worker.token } : actor,
    [Symbol.dispose]: () => store.close(),
  };
}

/**
 * writeTarget resolves the task a worker write (heartbeat, comment, complete, block) goes to
 * and returns it with the actor to use. Inside a worker, the id defaults to `$KANBAN_TASK`
 * and a write to any other task is refused: a worker may only report on its own task.
 */
export async function writeTarget(
  s: Session,
  ref: string | undefined,
  action: string,
): Promise<{ id: string; actor: Actor }> {
  const given = ref ?? s.worker?.task;
  if (given === undefined) {
    throw new UsageError(`Missing task id (or run inside a worker, with KANBAN_TASK set)`);
  }
  const id = await s.store.resolveId(given);
  if (s.worker && id !== s.worker.task) {
    throw new KanbanError(
      "foreign_task",
      `Cannot ${action} task "${id}" from the worker of task "${s.worker.task}": a worker writes only to its own task`,
    );
  }
  return { id, actor: s.actorFor(id) };
}

/** UsageError is a mistake in how the command was called (exit code 2). */
export class UsageError extends KanbanError {
  constructor(message: string) {
    super("usage", message, 2);
  }
}
