/**
 * The store's invariants, checked over the whole board. The property test runs this after
 * every step; `kanban doctor` runs it on a live board. An empty list means healthy. Every
 * check is linear (or n log n, through an index) in the size of the board: doctor has to
 * finish on a board of 100,000 tasks and on a dependency chain 10,000 deep.
 */
import type { Kernel } from "./_kernel.ts";
import type { Invariant } from "./driver/admin.ts";

/** Each invariant the driver checks, and what a breach of it is, in words (the report's). */
const CHECKS: { invariant: Invariant; name: string }[] = [
  {
    invariant: "task_run_not_open_own",
    name: "a task points at a run that is not its own open run",
  },
  { invariant: "open_run_not_current", name: "an open run that its task does not point at" },
  { invariant: "lease_not_running", name: "a lease on a task that is not running" },
  { invariant: "running_without_run", name: "a running task without a run" },
  { invariant: "ended_run_without_outcome", name: "an ended run without an outcome" },
  { invariant: "todo_parents_done", name: "a todo task whose parents are all done" },
  {
    invariant: "ready_parent_unfinished",
    name: "a ready or scheduled task with an unfinished parent",
  },
  { invariant: "unknown_status", name: "a task with an unknown status" },
  { invariant: "event_missing_task", name: "an event that names a missing task" },
  {
    invariant: "event_wrong_run",
    name: "an event that names a missing run, or a run of another task",
  },
  { invariant: "done_without_completion", name: "a done task without a completion time" },
];

export interface Violation {
  check: string;
  ids: (string | number)[];
}

/** The name of the cycle check (the store refuses cycles; one written behind its back). */
export const CYCLE_CHECK = "a task that depends on itself through a cycle";

/** At most this many ids are listed per violation. */
const MAX_IDS = 20;

/**
 * checkInvariants runs every check; each violation names the check and up to 20 ids. Call it
 * inside a read transaction for one consistent snapshot. It reads only the queries (`k.q`), so
 * doctor can call it with the queries of its own read.
 */
export async function checkInvariants(k: Pick<Kernel, "q">): Promise<Violation[]> {
  // Asked all at once: a server driver pipelines them on the transaction's connection (one
  // round trip instead of a dozen); SQLite answers each at once anyway.
  const [links, ...breaches] = await Promise.all([
    k.q.linksAll(),
    ...CHECKS.map((c) => k.q.invariantBreaches(c.invariant, MAX_IDS)),
  ]);
  const out: Violation[] = [];
  CHECKS.forEach((c, i) => {
    const ids = breaches[i]!;
    if (ids.length > 0) out.push({ check: c.name, ids });
  });
  const cyclic = tasksOnCycles(links);
  if (cyclic.length > 0) out.push({ check: CYCLE_CHECK, ids: cyclic.slice(0, MAX_IDS) });
  return out;
}

/**
 * tasksOnCycles lists the tasks that lie on a cycle of `links` (parent, child), grouped by
 * cycle. It is one pass of Tarjan's strongly connected components, iterative (a chain 10,000
 * deep would overflow a recursive one): linear in tasks plus links. The recursive query it
 * replaces followed every ancestor of every task, which is quadratic on a deep chain (92 s
 * for doctor on a chain of 4,000).
 */
export function tasksOnCycles(links: readonly (readonly [string, string])[]): string[] {
  // Number the tasks, and keep each one's children in one flat array (CSR): first[v] is
  // where v's children start in `child`, first[v + 1] where they end.
  const index = new Map<string, number>();
  const names: string[] = [];
  const node = (id: string): number => {
    let i = index.get(id);
    if (i === undefined) {
      i = names.length;
      index.set(id, i);
      names.push(id);
    }
    return i;
  };
  const from = links.map(([parent]) => node(parent));
  const to = links.map(([, child]) => node(child));
  const n = names.length;
  const first = new Int32Array(n + 1);
  for (const p of from) first[p + 1]!++;
  for (let v = 0; v < n; v++) first[v + 1]! += first[v]!;
  const child = new Int32Array(links.length);
  const fill = first.slice(0, n);
  for (let e = 0; e < links.length; e++) child[fill[from[e]!]!++] = to[e]!;

  const order = new Int32Array(n).fill(-1); // visit order; -1: not visited yet
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack = new Int32Array(n); // Tarjan's stack of visited, unassigned tasks
  let top = 0;
  const walkNode = new Int32Array(n); // the depth-first path, and the next edge of each
  const walkEdge = new Int32Array(n);
  const out: string[] = [];
  let visited = 0;
  for (let root = 0; root < n; root++) {
    if (order[root] !== -1) continue;
    let depth = 0;
    walkNode[0] = root;
    walkEdge[0] = first[root]!;
    order[root] = low[root] = visited++;
    stack[top++] = root;
    onStack[root] = 1;
    while (depth >= 0) {
      const v = walkNode[depth]!;
      const e = walkEdge[depth]!;
      if (e < first[v + 1]!) {
        walkEdge[depth] = e + 1;
        const w = child[e]!;
        if (order[w] === -1) {
          order[w] = low[w] = visited++;
          stack[top++] = w;
          onStack[w] = 1;
          depth++;
          walkNode[depth] = w;
          walkEdge[depth] = first[w]!;
        } else if (onStack[w]) {
          low[v] = Math.min(low[v]!, order[w]!);
        }
        continue;
      }
      depth--;
      if (depth >= 0) {
        const u = walkNode[depth]!;
        low[u] = Math.min(low[u]!, low[v]!);
      }
      if (low[v] !== order[v]) continue;
      // v is the root of a strongly connected component: pop it off the stack
      const component: string[] = [];
      let w: number;
      do {
        w = stack[--top]!;
        onStack[w] = 0;
        component.push(names[w]!);
      } while (w !== v);
      const selfLink = child.subarray(first[v]!, first[v + 1]!).includes(v);
      if (component.length > 1 || selfLink) out.push(...component.sort());
    }
  }
  return out;
}

/** integrityCheck runs the storage's own integrity and foreign key checks (SQLite's). */
export async function integrityCheck(k: Pick<Kernel, "q">): Promise<string[]> {
  const problems = await k.q.integrityProblems();
  for (const fk of await k.q.foreignKeyBreaches()) {
    problems.push(`foreign key: ${JSON.stringify(fk)}`);
  }
  return problems;
}
