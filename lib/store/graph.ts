/**
 * Task graphs: many tasks and the dependencies between them, created in one transaction and
 * idempotent by key. Each node is a task input (as createTask takes it) with a `ref` naming
 * it within the graph and `after`, the refs it waits for. Node `ref` of graph `key` holds the
 * idempotency key `<key>/<ref>`, so the board's unique index makes one graph per key, and its
 * `created` event records the graph it belongs to and a fingerprint of the input it was made
 * from: a replay with the same input returns the same tasks (whatever was edited since), and one
 * with other input is refused, naming the first node and field that differ.
 *
 * Templates (lib/templates) render into this input; an orchestrator's plan and recurring
 * routines can make it too.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import { type Kernel } from "./_kernel.ts";
import { type TaskRow, toTask } from "./_rows.ts";
import { ConflictError, ValidationError } from "./errors.ts";
import {
  type CreateTaskInput,
  CreateTaskInput as CreateTaskSchema,
  KEY_MAX_CHARS,
  parse,
  type ParsedCreateTask,
} from "./input.ts";
import { fenceOrigin } from "./runs.ts";
import { insertTask } from "./tasks.ts";
import type { Actor, Task } from "./types.ts";

/** The most nodes a graph may have. */
export const GRAPH_MAX_NODES = 200;
/** The most dependencies (`after` entries, all nodes together) a graph may have. */
export const GRAPH_MAX_EDGES = 1000;
/** The most bytes of titles and bodies (UTF-8) a graph may carry, all nodes together. */
export const GRAPH_MAX_BYTES = 4 * 1024 * 1024;
/** The longest node ref. */
export const REF_MAX_CHARS = 64;
/** The longest graph key: room for "/" and a one-character ref in the node's idempotency key. */
export const GRAPH_KEY_MAX_CHARS = KEY_MAX_CHARS - 2;

const REF = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A node's task: what createTask takes, except parents (`after`) and the key (the graph's). */
export type GraphTaskInput = Omit<CreateTaskInput, "parents" | "idempotency_key">;

export interface GraphNodeInput {
  /** The node's name within the graph: letters, digits, ".", "_" and "-". */
  ref: string;
  task: GraphTaskInput;
  /** The refs of the nodes this one waits for. */
  after?: string[] | undefined;
}

export interface CreateGraphInput {
  /** The graph's idempotency key (no "/": it separates the key from a node's ref). */
  key: string;
  nodes: GraphNodeInput[];
}

export interface GraphResult {
  key: string;
  /** false when the key had made this graph already: `tasks` are the ones it made then. */
  created: boolean;
  /** Each node's task, in the order the nodes were given. */
  tasks: { ref: string; task: Task }[];
}

const GraphShape = z.object({
  key: z.string().trim().min(1, "key is empty")
    .max(GRAPH_KEY_MAX_CHARS, `key is longer than ${GRAPH_KEY_MAX_CHARS} characters`)
    .refine((s) => !s.includes("/"), 'key may not contain "/" (it separates key and node ref)')
    // deno-lint-ignore no-control-regex
    .refine((s) => !/[\u0000-\u001f\u007f]/.test(s), "key contains a control character"),
  nodes: z.array(z.object({
    ref: z.string(),
    task: z.record(z.string(), z.unknown()),
    after: z.array(z.string()).default([]),
  })).min(1, "a graph needs at least one node")
    .max(GRAPH_MAX_NODES, `a graph has at most ${GRAPH_MAX_NODES} nodes`),
});

/** A node as checked: its task input parsed, its dependencies distinct. */
interface Node {
  ref: string;
  input: ParsedCreateTask;
  after: string[];
}

/**
 * The fields a node's fingerprint covers, in the order a difference is reported: everything
 * that says what the task is, not who asked (created_by) or its key (derived from the graph's).
 */
const FIELDS = [
  "title",
  "body",
  "assignee",
  "priority",
  "tenant",
  "needs",
  "skills",
  "workspace",
  "max_runtime_seconds",
  "review_required",
  "triage",
  "not_before",
  "after",
] as const;
type Field = typeof FIELDS[number];

/** What a graph node's `created` event records (its data's `graph`). */
interface GraphMark {
  key: string;
  ref: string;
  /** How many nodes the graph has, and a digest of their refs. */
  nodes: number;
  refs: string;
  /** A digest of each field of the node's input. */
  fp: Partial<Record<Field, string>>;
}

const digest = (value: unknown) =>
  createHash("sha256").update(JSON.stringify(value ?? null)).digest("hex").slice(0, 16);

function fingerprint(n: Node): Record<Field, string> {
  const i = n.input;
  const values: Record<Field, unknown> = {
    title: i.title,
    body: i.body,
    assignee: i.assignee ?? null,
    priority: i.priority,
    tenant: i.tenant ?? null,
    needs: [...new Set(i.needs)].sort(),
    skills: i.skills,
    workspace: i.workspace,
    max_runtime_seconds: i.max_runtime_seconds ?? null,
    review_required: i.review_required,
    triage: i.triage,
    not_before: i.not_before ?? null,
    after: [...n.after].sort(),
  };
  return Object.fromEntries(FIELDS.map((f) => [f, digest(values[f])])) as Record<Field, string>;
}

const utf8 = (s: string) => new TextEncoder().encode(s).length;

/**
 * checkGraph validates a graph's input and returns its key, its nodes and the order to create
 * them in (every node after the nodes it waits for; otherwise as given). Every refusal is a
 * ValidationError naming the node and the field.
 */
export function checkGraph(raw: CreateGraphInput): { key: string; nodes: Node[]; order: Node[] } {
  const shape = parse(GraphShape, raw, "graph");
  const key = shape.key;
  const refs = new Set<string>();
  let edges = 0;
  let bytes = 0;
  const bad = (message: string) => new ValidationError(`Invalid graph: ${message}`);
  const nodes: Node[] = shape.nodes.map((n, i) => {
    const at = `node ${i + 1}`;
    if (!REF.test(n.ref) || n.ref.length > REF_MAX_CHARS) {
      throw bad(
        `${at}: ref ${JSON.stringify(n.ref)} is not a node name (letters, digits, ".", "_" and ` +
          `"-", starting with a letter or digit, up to ${REF_MAX_CHARS} characters)`,
      );
    }
    if (refs.has(n.ref)) throw bad(`node "${n.ref}": ref is used by an earlier node too`);
    refs.add(n.ref);
    for (const field of ["parents", "idempotency_key"] as const) {
      if (n.task[field] !== undefined) {
        throw bad(
          `node "${n.ref}": ${field}: a graph sets it (${
            field === "parents" ? "list the nodes it waits for in after" : `"${key}/${n.ref}"`
          })`,
        );
      }
    }
    const nodeKey = `${key}/${n.ref}`;
    if (nodeKey.length > KEY_MAX_CHARS) {
      throw bad(
        `node "${n.ref}": its idempotency key "${nodeKey}" (key/ref) is longer than ` +
          `${KEY_MAX_CHARS} characters: shorten the key or the ref`,
      );
    }
    const input = parse(
      CreateTaskSchema,
      { ...n.task, idempotency_key: nodeKey },
      `graph: node "${n.ref}"`,
    );
    bytes += utf8(input.title) + utf8(input.body);
    const after = [...new Set(n.after)];
    edges += after.length;
    return { ref: n.ref, input, after };
  });
  if (edges > GRAPH_MAX_EDGES) {
    throw bad(`${edges} dependencies (after); a graph has at most ${GRAPH_MAX_EDGES}`);
  }
  if (bytes > GRAPH_MAX_BYTES) {
    throw bad(`titles and bodies add up to ${bytes} bytes; a graph has at most ${GRAPH_MAX_BYTES}`);
  }
  for (const n of nodes) {
    for (const a of n.after) {
      if (!refs.has(a)) {
        throw bad(
          `node "${n.ref}": after: no node "${a}" (nodes: ${[...refs].slice(0, 20).join(", ")}${
            refs.size > 20 ? ", ..." : ""
          })`,
        );
      }
    }
  }
  return { key, nodes, order: topological(nodes, bad) };
}

/**
 * topological orders the nodes so that each comes after the nodes it waits for, keeping the
 * given order where the dependencies allow it; a cycle is refused, naming its nodes.
 */
function topological(nodes: Node[], bad: (m: string) => Error): Node[] {
  const byRef = new Map(nodes.map((n) => [n.ref, n]));
  const placed = new Set<string>();
  const order: Node[] = [];
  // Kahn's algorithm over the given order: each round places every node whose dependencies are
  // placed (a graph has at most 200 nodes, so rescanning is cheap and keeps the order stable).
  while (order.length < nodes.length) {
    const round = nodes.filter((n) => !placed.has(n.ref) && n.after.every((a) => placed.has(a)));
    if (round.length === 0) break;
    for (const n of round) {
      placed.add(n.ref);
      order.push(n);
    }
  }
  if (order.length === nodes.length) return order;
  // Every unplaced node waits for an unplaced one: walking those waits must meet itself.
  const path: string[] = [];
  let at = nodes.find((n) => !placed.has(n.ref))!;
  while (!path.includes(at.ref)) {
    path.push(at.ref);
    at = byRef.get(at.after.find((a) => !placed.has(a))!)!;
  }
  const cycle = [...path.slice(path.indexOf(at.ref)), at.ref];
  throw bad(
    `the nodes wait for each other in a cycle: ${
      cycle.map((r) => `"${r}"`).join(" after ")
    } (after: dependencies must not loop)`,
  );
}

/**
 * createGraph creates every node's task in one transaction, in dependency order, each node's
 * parents the tasks of the nodes in its `after`; a node that waits for nothing is ready (or
 * scheduled, or in triage, as createTask would make it), the others wait in todo.
 *
 * Idempotent by key: when the key's graph exists, its tasks are returned (`created: false`) if
 * they were made from this same input, and the call is refused (`key_conflict`) if not, naming
 * the first node and field that differ. A graph of which some tasks were archived or cancelled
 * (their keys freed) is refused (`graph_incomplete`); once all are archived the key is free.
 */
export async function createGraph(
  k: Kernel,
  raw: CreateGraphInput,
  actor: Actor,
): Promise<GraphResult> {
  const { key, nodes, order } = checkGraph(raw);
  const origin = await fenceOrigin(k, actor, "create a task graph");
  const fps = new Map(nodes.map((n) => [n.ref, fingerprint(n)]));
  const refs = digest(nodes.map((n) => n.ref).sort());
  // "/" is followed by "0" in byte order: the range holds exactly the keys that start `<key>/`
  const existing = await k.q.tasksWithKeyBetween(`${key}/`, `${key}0`, GRAPH_MAX_NODES + 1);
  if (existing.length > 0) return await replay(k, key, nodes, fps, refs, existing);
  const ids = new Map<string, string>();
  const made = new Map<string, Task>();
  for (const n of order) {
    const mark: GraphMark = { key, ref: n.ref, nodes: nodes.length, refs, fp: fps.get(n.ref)! };
    const parents = n.after.map((a) => ids.get(a)!);
    const r = await insertTask(k, n.input, parents, actor, origin, { graph: mark });
    if (!r.created) {
      // the range read above found no task with this key, in this same transaction
      throw new ConflictError(
        "key_conflict",
        `Key "${key}": node "${n.ref}"'s key "${key}/${n.ref}" was taken while the graph was ` +
          "being created; run it again",
      );
    }
    ids.set(n.ref, r.task.id);
    made.set(n.ref, r.task);
  }
  return { key, created: true, tasks: nodes.map((n) => ({ ref: n.ref, task: made.get(n.ref)! })) };
}

/** markOf reads the graph a task's `created` event says it belongs to, or null. */
function markOf(data: string | undefined): GraphMark | null {
  if (data === undefined) return null;
  try {
    const g = (JSON.parse(data) as { graph?: unknown }).graph as Partial<GraphMark> | undefined;
    if (
      typeof g !== "object" || g === null || typeof g.key !== "string" ||
      typeof g.ref !== "string" || typeof g.nodes !== "number" || typeof g.refs !== "string" ||
      typeof g.fp !== "object" || g.fp === null
    ) return null;
    return g as GraphMark;
  } catch {
    return null;
  }
}

/**
 * replay answers a create whose key already has tasks: the same tasks when they were made as
 * this graph from this input, else a refusal saying what differs.
 */
async function replay(
  k: Kernel,
  key: string,
  nodes: Node[],
  fps: Map<string, Record<Field, string>>,
  refs: string,
  existing: TaskRow[],
): Promise<GraphResult> {
  const data = new Map(
    (await k.q.creationData(existing.map((t) => t.id))).map((r) => [r.id, r.data]),
  );
  const byRef = new Map<string, { task: TaskRow; mark: GraphMark }>();
  for (const task of existing) {
    const ref = task.idempotency_key!.slice(key.length + 1);
    const mark = markOf(data.get(task.id));
    if (mark === null || mark.key !== key || mark.ref !== ref) {
      throw new ConflictError(
        "key_conflict",
        `Key "${key}" is taken: task "${task.id}" holds idempotency key ` +
          `"${task.idempotency_key}" but is not node "${ref}" of a graph with key "${key}"`,
      );
    }
    byRef.set(ref, { task, mark });
  }
  const first = byRef.values().next().value!.mark;
  const other = (detail: string) =>
    new ConflictError(
      "key_conflict",
      `Key "${key}" already created a graph from other input: ${detail} (a key creates one ` +
        "graph; give another key for another one)",
    );
  if (first.refs !== refs || first.nodes !== nodes.length) {
    const ours = new Set(nodes.map((n) => n.ref));
    const missing = [...byRef.keys()].find((r) => !ours.has(r));
    if (missing !== undefined) throw other(`its node "${missing}" is not in this one`);
    const extra = nodes.find((n) => !byRef.has(n.ref));
    if (extra !== undefined) throw other(`this one's node "${extra.ref}" is not among its tasks`);
    throw other(`it has ${first.nodes} nodes, this one ${nodes.length}`);
  }
  const gone = nodes.filter((n) => !byRef.has(n.ref));
  if (gone.length > 0) {
    throw new ConflictError(
      "graph_incomplete",
      `Key "${key}": ${byRef.size} of the ${nodes.length} tasks of its graph are open; the ` +
        `tasks of ${gone.slice(0, 5).map((n) => `node "${n.ref}"`).join(", ")}${
          gone.length > 5 ? ", ..." : ""
        } were archived or cancelled. A graph is returned ` +
        "whole or not at all: give another key to create it again",
    );
  }
  for (const n of nodes) {
    const { task, mark } = byRef.get(n.ref)!;
    const ours = fps.get(n.ref)!;
    // a field a stored fingerprint lacks (made by an older kanban) cannot be compared
    const differs = FIELDS.find((f) => mark.fp[f] !== undefined && mark.fp[f] !== ours[f]);
    if (differs !== undefined) {
      throw other(`node "${n.ref}": ${differs} differs from what made task "${task.id}"`);
    }
  }
  return {
    key,
    created: false,
    tasks: nodes.map((n) => ({ ref: n.ref, task: toTask(byRef.get(n.ref)!.task) })),
  };
}
