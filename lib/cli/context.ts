/**
 * What a verb needs from the outside world, injected so that tests run the CLI in-process:
 * environment, working directory, output streams. `session()` opens the board a verb works
 * on and knows who is acting (a person, or a worker with its run's lease token).
 */
import { type Actor, type Confinement, KanbanError, openStore, type Store } from "../store/mod.ts";
import { remoteAsStore, remoteStore } from "../store/remote.ts";
import { type Env, resolveBoard } from "../config/paths.ts";
import type { Delivery, ToolDeps } from "../tools/mod.ts";
import { confinementOf } from "./confine.ts";
import { performance } from "node:perf_hooks";
import {
  type DecodedWorkerEnv,
  decodeWorkerEnv,
  type WorkerBinding,
  workerBindingOf,
} from "../worker_env.ts";

export interface CliContext {
  env: Env;
  cwd: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /**
   * Reads standard input (for `--body-file -`), at most `max` bytes: past that it stops
   * reading and throws a TooLargeError (lib/readcap.ts) naming `what`.
   */
  readStdin: (max: number, what: string) => Promise<string>;
  /** Standard input as a stream, for `import -` to read a board of any size (main.ts). */
  stdinStream?: () => AsyncIterable<Uint8Array>;
  /** Clock for parsing relative times (`--not-before +2h`). */
  now: () => number;
  /** Monotonic ms for a worker's report retries (default: performance.now). */
  mono?: () => number;
  /** Waits between a worker's report retries (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
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

/**
 * actorName says who is acting: $KANBAN_ACTOR, a worker's profile, or the login name.
 * Throws a ValidationError naming the variable when the worker variables are malformed.
 */
export function actorName(env: Env, w: DecodedWorkerEnv = decodeWorkerEnv(env)): string {
  const worker = workerBindingOf(w) ? w.profile || "worker" : "";
  return env["KANBAN_ACTOR"] || worker || env["USER"] || env["LOGNAME"] || "cli";
}

export interface Session extends Disposable {
  /** The board; inside a worker, confined to its run (lib/store/confine.ts). */
  store: Store;
  json: boolean;
  /** The acting person (no token). */
  actor: Actor;
  /**
   * Set inside a worker started by the dispatcher (KANBAN_TASK and KANBAN_TOKEN): ids default
   * to its task and the tools attach its token. Either variable alone still confines the
   * session's store (lib/cli/confine.ts): KANBAN_TASK alone may not write at all, KANBAN_TOKEN
   * alone writes only to its run's task.
   */
  worker: WorkerBinding | null;
  /** What the agent tools (lib/tools) need: the board, the actor, the worker's binding. */
  tools: ToolDeps;
}

export function session(
  ctx: CliContext,
  cmd: HasGlobals,
  opts: { create?: boolean } = {},
): Session {
  const g = globals(cmd);
  // Inside a worker the connection itself is confined: every write of every verb is audited
  // by the store, whichever actor the verb passes.
  const decoded = decodeWorkerEnv(ctx.env);
  const confine = confinementOf(decoded);
  const store = openBoard(ctx, g, decoded, confine, opts.create ?? false);
  const worker = workerBindingOf(decoded);
  const actor = { name: actorName(ctx.env, decoded) };
  return {
    store,
    json: g.json,
    actor,
    worker,
    tools: {
      store,
      actor,
      worker,
      now: ctx.now,
    },
    [Symbol.dispose]: () => store.close(),
  };
}

/**
 * openBoard opens the board a session works on. A worker whose dispatcher serves it a socket
 * (KANBAN_SOCKET) reaches the board through it with its run's token: the dispatcher confines
 * every call to the run (lib/dispatch/worker_socket.ts), and the worker knows no database
 * location. A board named with --db or --board is opened as given, confined all the same.
 */
function openBoard(
  ctx: CliContext,
  g: Globals,
  w: DecodedWorkerEnv,
  confine: Confinement | null,
  create: boolean,
): Store {
  if (w.socket !== null && confine !== null && g.db === undefined && g.board === undefined) {
    return remoteAsStore(remoteStore({ socket: w.socket, token: w.token ?? "", task: w.task }));
  }
  const board = resolveBoard(g, ctx.env, ctx.cwd);
  return openStore(board.path, {
    create,
    ...(confine ? { confine } : {}),
    ...(w.leaseMs !== null ? { busyTimeoutMs: workerBusyTimeout(w.leaseMs) } : {}),
  });
}

/**
 * workerBusyTimeout is how long a worker waits for a locked board in one try: a quarter of its
 * lease, at most the usual 10 s. The store tries a lock up to three times, so an uncapped wait
 * could outlast a short lease before the report's own retries (and their deadline) come in.
 */
export function workerBusyTimeout(leaseMs: number): number {
  return Math.max(250, Math.min(10_000, Math.floor(leaseMs / 4)));
}

/** The lease a worker assumes when its environment does not say (the store's default). */
const DEFAULT_WORKER_LEASE_MS = 120_000;

/**
 * workerDelivery is how a worker's reports are retried (lib/tools/deliver.ts): for as long as
 * its run's lease ($KANBAN_LEASE_MS), leaving an undelivered one in $KANBAN_REPORT_FILE, each
 * failed try told on stderr. Null outside a worker: a person's command answers at once.
 */
export function workerDelivery(ctx: CliContext): Delivery | null {
  const w = decodeWorkerEnv(ctx.env);
  if (workerBindingOf(w) === null) return null;
  return {
    leaseMs: w.leaseMs ?? DEFAULT_WORKER_LEASE_MS,
    reportFile: w.reportFile,
    run: w.run,
    mono: ctx.mono ?? (() => performance.now()),
    sleep: ctx.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    log: (line) => ctx.stderr(`${line}\n`),
  };
}

/** UsageError is a mistake in how the command was called (exit code 2). */
export class UsageError extends KanbanError {
  constructor(message: string) {
    super("usage", message);
  }
}
