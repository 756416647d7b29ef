/**
 * Tool is one operation of the agent tool surface: a zod input schema and a handler. The CLI
 * verbs and the MCP server both run tools through `runTool()`, so they validate, refuse and
 * answer alike. Handlers throw KanbanError; surfaces render it as `{error: {code, message}}`.
 */
import type { z } from "zod";
import { type Actor, KanbanError, parse, type Store } from "../store/mod.ts";
import type { Caps } from "./caps.ts";
import type { WorkerBinding } from "../worker_env.ts";
import type { ReportKind } from "../pending_report.ts";
import { deliver, type Delivery } from "./deliver.ts";

export type { Delivery, WorkerBinding };

/** ToolDeps is what a handler works with: the board, who acts, and how much it may print. */
export interface ToolDeps {
  store: Store;
  /** The acting person or agent, without a token. */
  actor: Actor;
  /**
   * Inside a worker (lib/worker_env.ts): its task, token and tenant. Writes are then bound to
   * that task and carry the token (never shown); follow-ups inherit the tenant.
   */
  worker: WorkerBinding | null;
  /** Output caps for agents (the MCP surface). Absent: full output (the CLI). */
  caps?: Caps | undefined;
  /** Clock for relative times (`not_before: "+2h"`); defaults to Date.now. */
  now?: (() => number) | undefined;
  /**
   * Inside a worker: how its reports (complete, block) are retried through a board briefly out
   * of reach (deliver.ts). Absent or null: one try.
   */
  delivery?: Delivery | null | undefined;
}

// deno-lint-ignore no-explicit-any
export type AnyObject = z.ZodObject<any>;

export interface Tool<S extends AnyObject = AnyObject, O = unknown> {
  name: string;
  /** One or two sentences: what an agent reads in tools/list. */
  description: string;
  input: S;
  handler(deps: ToolDeps, input: z.output<S>): Promise<O>;
  /**
   * `own`: the tool writes to the caller's task (heartbeat, comment, complete, block). A
   * worker's MCP server lists it without `id`: the task is the worker's own.
   */
  target?: "own";
  /**
   * Input fields MCP does not list (every agent pays for each listed token): usage reports,
   * which only matter to agents whose output kanban cannot read, go through the CLI.
   */
  unlisted?: readonly string[];
  /**
   * The tool is a worker's report, which ends its run: inside a worker it is retried through
   * a board briefly out of reach and, if never delivered, left for the dispatcher (deliver.ts).
   */
  report?: ReportKind;
}

/** defineTool keeps a tool's input and handler types tied together. */
export function defineTool<S extends AnyObject, O>(tool: Tool<S, O>): Tool<S, O> {
  return tool;
}

/**
 * runTool validates `raw` against the tool's schema (a ValidationError names each bad field)
 * and runs the handler. A worker's report (`tool.report`) is delivered with retries when
 * `deps.delivery` says how (deliver.ts).
 */
export function runTool<S extends AnyObject, O>(
  tool: Tool<S, O>,
  deps: ToolDeps,
  raw: unknown,
): Promise<O> {
  try {
    const input = parse(tool.input, raw ?? {}, `${tool.name} input`);
    const d = deps.delivery;
    if (tool.report === undefined || !d || deps.worker === null) return tool.handler(deps, input);
    const { id: _id, ...fields } = input as Record<string, unknown>;
    const report = { task: deps.worker.task, kind: tool.report, input: fields };
    return deliver(report, () => tool.handler(deps, input), d);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** ToolError is the `{error: {code, message}}` shape every surface prints for a failure. */
export interface ToolError {
  error: { code: string; message: string };
}

/** toolError renders a thrown value; anything but a KanbanError is an internal error. */
export function toolError(err: unknown): ToolError {
  if (err instanceof KanbanError) return { error: { code: err.code, message: err.message } };
  const message = err instanceof Error ? err.message : String(err);
  return { error: { code: "internal", message: `internal error: ${message}` } };
}
