/**
 * Board-wide routes: the board's columns, stats, usage, dispatcher health, a dispatch nudge,
 * logs.
 */
import { parseSince } from "../config/duration.ts";
import { boardHealth } from "../dispatch/health.ts";
import type { z } from "zod";
import {
  NotFoundError,
  type Status,
  STATUSES,
  type Store,
  type TaskSummary,
} from "../store/mod.ts";
import { tailLog } from "./log_tail.ts";
import { type ApiContext, json, type Routes } from "./route.ts";
import { paged, pageOf } from "./paging.ts";
import {
  ASSIGNEES_PAGE,
  ASSIGNEES_PAGE_MAX,
  AssigneesQuery,
  BoardQuery,
  LogQuery,
  StatsQuery,
  UsageQuery,
} from "./schemas.ts";
import * as shapes from "./shapes.ts";

const COLUMN_LIMIT = 200;
const LOG_BYTES = 64 * 1024;
/** Parents a waiting card lists by name; `waits_for.count` says how many in all. */
const WAITS_FOR_SHOWN = 5;

/** Finished work: newest first, and loaded by page (a board keeps years of it). */
const FINISHED: readonly Status[] = ["done", "archived"];

/** The order of `listTasks({recent: true})`, for tasks already read. */
function newestFinished(a: TaskSummary, b: TaskSummary): number {
  const at = (t: TaskSummary) => t.completed_at ?? t.updated_at;
  return at(b).localeCompare(at(a)) || b.id.localeCompare(a.id);
}

type BoardColumn = { status: Status; count: number; tasks: TaskSummary[] };
type BoardTask = z.output<typeof shapes.BoardTask>;

/**
 * withNotes adds what the cards say beyond the task: the unfinished parents of todo tasks
 * and the handoff line of review and done tasks. Two queries for the whole board, whatever
 * its size (one per card would make a board of thousands slow).
 */
async function withNotes(
  store: Store,
  columns: BoardColumn[],
): Promise<{ status: Status; count: number; tasks: BoardTask[] }[]> {
  const ids = (statuses: Status[]) =>
    columns.filter((c) => statuses.includes(c.status)).flatMap((c) => c.tasks.map((t) => t.id));
  const waits = await store.waitsFor(ids(["todo"]), WAITS_FOR_SHOWN);
  const lines = await store.handoffs(ids(["review", "done"]));
  return columns.map((c) => ({
    ...c,
    tasks: c.tasks.map((t): BoardTask => {
      const w = waits.get(t.id);
      const line = lines.get(t.id);
      return {
        ...t,
        ...(w !== undefined ? { waits_for: w } : {}),
        ...(line !== undefined ? { handoff: line } : {}),
      };
    }),
  }));
}

export function boardRoutes(r: Routes, api: ApiContext): void {
  const { store } = api;

  r.add({
    method: "get",
    path: "/api/v1/board",
    tag: "board",
    summary: "The board: one column per status with its count and tasks (no bodies)",
    description: "Archived tasks are left out unless `archived=true`. Each column lists at " +
      "most `limit` tasks (highest priority, then oldest, first); done and archived list the " +
      "newest finished first, at most `done_limit` and `archived_limit` (finished work loads " +
      "by page); `count` is the full number.",
    query: BoardQuery,
    ok: { status: 200, schema: shapes.Board, description: "the columns" },
    handler: async (c, { query }) => {
      const base = query.limit ?? COLUMN_LIMIT;
      const limitOf = (s: Status) =>
        s === "done"
          ? query.done_limit ?? base
          : s === "archived"
          ? query.archived_limit ?? base
          : base;
      const shown = STATUSES.filter((s) => s !== "archived" || query.archived);
      if (query.assignee === undefined && (query.search ?? "").trim() === "") {
        // Counts from one GROUP BY and a limited read per column: on a board of 100,000 tasks
        // this answers in milliseconds, where reading every task took 1.5 s (the dashboard
        // fetches the board after every change).
        const counts = await store.countByStatus(query.tenant);
        const columns = [];
        for (const s of shown) {
          const count = counts[s] ?? 0;
          const tasks = count === 0 ? [] : await store.listTasks({
            statuses: [s],
            tenant: query.tenant,
            limit: limitOf(s),
            recent: FINISHED.includes(s),
          });
          columns.push({ status: s, count: Math.max(count, tasks.length), tasks });
        }
        const total = columns.reduce((n, col) => n + col.count, 0);
        return json(c, { columns: await withNotes(store, columns), total });
      }
      const tasks = await store.listTasks({
        tenant: query.tenant,
        assignee: query.assignee,
        search: query.search,
        archived: query.archived ?? false,
      });
      const columns = shown.map((s) => {
        const all = tasks.filter((t) => t.status === s);
        if (FINISHED.includes(s)) all.sort(newestFinished);
        return { status: s, count: all.length, tasks: all.slice(0, limitOf(s)) };
      });
      return json(c, { columns: await withNotes(store, columns), total: tasks.length });
    },
  });

  r.add({
    method: "get",
    path: "/api/v1/stats",
    tag: "board",
    summary: "Task counts by status, run outcomes, queue age",
    query: StatsQuery,
    ok: { status: 200, schema: shapes.Stats, description: "the statistics" },
    handler: async (c, { query }) => json(c, await store.stats(query.tenant)),
  });

  r.add({
    method: "get",
    path: "/api/v1/usage",
    tag: "board",
    summary: "Tokens and cost of the runs that ended in a window, by profile and tenant",
    description: "`since` is a duration ago (`24h`, `7d`) or an ISO time; without it, all " +
      "time. Costs are summed only over runs whose agent CLI reported one: `cost_usd` is null " +
      "when none did, and `runs_with_cost` says how many did.",
    query: UsageQuery,
    ok: {
      status: 200,
      schema: shapes.UsageStats,
      description: "the board, per profile, per tenant",
    },
    handler: async (c, { query }) => {
      const since = query.since === undefined ? undefined : parseSince(query.since, api.now());
      return json(c, await store.usageStats({ since, tenant: query.tenant }));
    },
  });

  r.add({
    method: "get",
    path: "/api/v1/assignees",
    tag: "board",
    summary: "Assignees (profiles) with their tasks by status",
    description: `One page, busiest first: ${ASSIGNEES_PAGE} unless \`limit\` says (at most ` +
      `${ASSIGNEES_PAGE_MAX}); a \`Link\` header names the next page when there is one.`,
    query: AssigneesQuery,
    ok: { status: 200, schema: shapes.Assignees, description: "a page, busiest first" },
    handler: async (c, { query }) => {
      const page = pageOf(query, ASSIGNEES_PAGE);
      const all = await store.assignees();
      return json(c, paged(c, all.slice(page.offset, page.offset + page.limit + 1), page));
    },
  });

  r.add({
    method: "get",
    path: "/api/v1/status",
    tag: "dispatch",
    summary: "Dispatcher health: what `kanban status --json` prints",
    ok: { status: 200, schema: shapes.Health, description: "dispatchers, workers, caps, warnings" },
    handler: async (c) => json(c, await boardHealth({ store, env: api.env, now: api.now() })),
  });

  r.add({
    method: "post",
    path: "/api/v1/dispatch/nudge",
    tag: "dispatch",
    summary: "Wake the dispatcher now",
    description: "Appends a `dispatch_requested` event; a running dispatcher wakes within " +
      "milliseconds of any board write and makes a pass.",
    ok: { status: 202, schema: shapes.Nudged, description: "the event that was written" },
    handler: async (c) => json(c, { event: await store.requestDispatch(api.actor) }, 202),
  });

  r.add({
    method: "get",
    path: "/api/v1/runs/{run}/log",
    tag: "board",
    summary: "The end of a run's worker log",
    query: LogQuery,
    ok: { status: 200, schema: shapes.LogTail, description: "the last `bytes` bytes as text" },
    errors: [404],
    handler: async (c, { params, query }) => {
      const id = /^\d{1,15}$/.test(params["run"]!) ? Number(params["run"]) : NaN;
      if (!(id >= 1)) throw new NotFoundError(`No run "${params["run"]}"`);
      const run = await store.getRun(id);
      if (run.log_path === null) {
        throw new NotFoundError(`Run ${run.id} has no log (it was not started by the dispatcher)`);
      }
      const tail = tailLog(run.log_path, query.bytes ?? LOG_BYTES);
      return json(c, { run: run.id, task: run.task_id, path: run.log_path, ...tail });
    },
  });
}
