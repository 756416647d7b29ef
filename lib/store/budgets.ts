/**
 * Budgets: a cap on one metric of the runs in a scope over a window, hard or soft.
 *
 * - Metrics: tokens (all four kinds together, as `kanban runs` counts them), each kind alone,
 *   cost in US dollars (only runs whose CLI reported one), runs, and worker time. Tokens, runs
 *   and time are counted whatever the cost, so a subscription plan (cost unknown or $0) is
 *   capped as well as a metered one.
 * - Scopes: the board, a profile, a tenant, a task. Windows: each run, the UTC day, week
 *   (from Monday) or month, or a rolling number of hours.
 * - A hard budget holds claims that would cross it: the claim is judged with a reservation, the
 *   average use of the claiming profile's recent runs for every run in flight and for the new
 *   one, so a fan-out cannot overshoot by the number of workers started at once. Runs in flight
 *   once the budget is spent are stopped by the dispatcher (outcome `stopped`, the budget named
 *   in its error, not counted as the task's failure). A soft budget only warns.
 * - A crossing is recorded once per window (`budget_exceeded`, a board event that
 *   notifications see), by compare-and-set on the budget's row, however many dispatchers see it.
 *
 * A run counts in the window it ended in (its usage is known when it ends); a run in flight
 * counts as one run and its time so far.
 */
import { z } from "zod";
import type { Kernel } from "./_kernel.ts";
import { appendEvent, refuseWorker } from "./_kernel.ts";
import { iso } from "./_rows.ts";
import type { BudgetRow, OpenRunScope } from "./driver/budgets.ts";
import type { UsageSumsRow } from "./driver/reads.ts";
import { ConflictError, NotFoundError } from "./errors.ts";
import { name, parse } from "./input.ts";
import type { Actor } from "./types.ts";

import { BUDGET_METRICS, BUDGET_PERIODS, BUDGET_SCOPES } from "./budget_kinds.ts";
export {
  BUDGET_METRICS,
  BUDGET_PERIODS,
  BUDGET_SCOPES,
  type BudgetMetric,
  type BudgetPeriod,
  type BudgetScope,
  budgetScope,
  budgetWindow,
} from "./budget_kinds.ts";
import type { BudgetMetric, BudgetPeriod, BudgetScope } from "./budget_kinds.ts";

/** How many of a profile's recent runs its reservation is the average of. */
export const RESERVATION_RUNS = 20;

const BudgetInputSchema = z.strictObject({
  name: z.string().trim().min(1, "name is empty").max(64, "name is longer than 64 characters")
    .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, "name: letters, digits, '.', '_', '@', '-'"),
  scope: z.enum(BUDGET_SCOPES),
  target: name("target").optional(),
  metric: z.enum(BUDGET_METRICS),
  cap: z.number().positive("cap must be above 0").max(1e15, "cap is too large"),
  period: z.enum(BUDGET_PERIODS),
  hours: z.number().int("hours must be a whole number").min(1, "hours must be at least 1")
    .max(8760, "hours must be at most 8760 (a year)").optional(),
  hard: z.boolean().default(true),
}).refine((b) => (b.scope === "board") === (b.target === undefined), {
  message: "a board budget names no target; a profile, tenant or task budget names one",
  path: ["target"],
}).refine((b) => (b.period === "hours") === (b.hours !== undefined), {
  message: "hours goes with (and only with) the rolling window, period hours",
  path: ["hours"],
});
export type BudgetInput = z.input<typeof BudgetInputSchema>;

/** A budget as the surfaces show it. */
export interface Budget {
  name: string;
  scope: BudgetScope;
  target: string | null;
  metric: BudgetMetric;
  cap: number;
  period: BudgetPeriod;
  hours: number | null;
  hard: boolean;
  created_by: string;
  created_at: string;
}

/** A budget with what its window has spent. */
export interface BudgetStatus extends Budget {
  /** The window's start (null: each run is its own window). */
  window_start: string | null;
  /** When the window ends and the count starts again (null: rolling, or per run). */
  resets_at: string | null;
  /** What the window has spent so far (for a per-run budget: the most a run in flight has). */
  spent: number;
  /** Runs in flight in the scope. */
  in_flight: number;
  /** ok, or over (spent at least the cap). */
  state: "ok" | "over";
}

function toBudget(r: BudgetRow): Budget {
  return {
    name: r.name,
    scope: r.scope,
    target: r.target,
    metric: r.metric,
    cap: r.cap,
    period: r.period,
    hours: r.hours,
    hard: r.hard === 1,
    created_by: r.created_by,
    created_at: iso(r.created_at),
  };
}

/** budgetRow is a checked budget as stored, made by `by` at `at`. */
function budgetRow(b: z.output<typeof BudgetInputSchema>, by: string, at: number): BudgetRow {
  return {
    name: b.name,
    scope: b.scope,
    target: b.target ?? null,
    metric: b.metric,
    cap: b.cap,
    period: b.period,
    hours: b.hours ?? null,
    hard: b.hard ? 1 : 0,
    noted_window: null,
    created_by: by,
    created_at: at,
  };
}

/** addBudget stores a new budget; a name in use is refused. */
export async function addBudget(k: Kernel, raw: BudgetInput, actor: Actor): Promise<Budget> {
  refuseWorker(actor, "set budgets; a person does");
  const b = parse(BudgetInputSchema, raw, "budget");
  const row = budgetRow(b, actor.name, k.now());
  if (await k.q.budgetInsert(row) === "duplicate_name") {
    throw new ConflictError("name_taken", `A budget named "${b.name}" exists; remove it first`);
  }
  appendEvent(k, null, null, "budget_added", actor, { budget: b.name });
  return toBudget(row);
}

/** removeBudget deletes the budget named `name`. */
export async function removeBudget(k: Kernel, budget: string, actor: Actor): Promise<void> {
  refuseWorker(actor, "remove budgets; a person does");
  if (!await k.q.budgetDelete(budget)) throw new NotFoundError(`No budget "${budget}"`);
  appendEvent(k, null, null, "budget_removed", actor, { budget });
}

/**
 * syncBudgets makes the board's budgets declared by `owner` (a host's config.toml,
 * `config:HOST`) those of `declared`: each is added, or replaced where its definition changed
 * (a budget of the same name a person added is replaced too: the file is what is declared), and
 * those `owner` declared before and no longer does are removed. Budgets of other owners stay.
 * Returns one line per change.
 */
export async function syncBudgets(
  k: Kernel,
  declared: readonly BudgetInput[],
  owner: string,
  actor: Actor,
): Promise<string[]> {
  refuseWorker(actor, "set budgets; a person does");
  const have = new Map((await k.q.budgetsAll()).map((b) => [b.name, b]));
  const changes: string[] = [];
  const names = new Set<string>();
  for (const raw of declared) {
    const b = parse(BudgetInputSchema, raw, `budget "${raw.name}"`);
    names.add(b.name);
    const row = budgetRow(b, owner, k.now());
    const old = have.get(b.name);
    const same = old !== undefined && old.created_by === owner && old.scope === row.scope &&
      old.target === row.target && old.metric === row.metric && old.cap === row.cap &&
      old.period === row.period && old.hours === row.hours && old.hard === row.hard;
    if (same) continue;
    if (old !== undefined) {
      await k.q.budgetDelete(b.name);
      // the same window's crossing is not recorded twice for an unchanged window
      if (old.period === row.period && old.hours === row.hours) row.noted_window = old.noted_window;
    }
    await k.q.budgetInsert(row);
    appendEvent(k, null, null, "budget_added", actor, { budget: b.name, from: owner });
    changes.push(`budget ${b.name} ${old === undefined ? "added" : "changed"}`);
  }
  for (const [name, old] of have) {
    if (old.created_by !== owner || names.has(name)) continue;
    await k.q.budgetDelete(name);
    appendEvent(k, null, null, "budget_removed", actor, { budget: name, from: owner });
    changes.push(`budget ${name} removed`);
  }
  return changes;
}

// Windows ---------------------------------------------------------------------------------------

const DAY = 86_400_000;

/** windowOf is the window of period `p` that holds `now`: [start, end) (end null: rolling). */
export function windowOf(
  p: BudgetPeriod,
  hours: number | null,
  now: number,
): { start: number; end: number | null } | null {
  const d = new Date(now);
  switch (p) {
    case "run":
      return null;
    case "hours":
      return { start: now - hours! * 3_600_000, end: null };
    case "day": {
      const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      return { start, end: start + DAY };
    }
    case "week": {
      const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      const start = day - ((d.getUTCDay() + 6) % 7) * DAY; // back to Monday
      return { start, end: start + 7 * DAY };
    }
    case "month":
      return {
        start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1),
        end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1),
      };
  }
}

// Spend -----------------------------------------------------------------------------------------

/** metricOf is a budget's metric of summed runs. */
export function metricOf(s: UsageSumsRow, metric: BudgetMetric): number {
  const n = (v: number | null) => Number(v ?? 0);
  switch (metric) {
    case "tokens":
      return n(s.input) + n(s.output) + n(s.cache_read) + n(s.cache_write);
    case "input_tokens":
      return n(s.input);
    case "output_tokens":
      return n(s.output);
    case "cache_read_tokens":
      return n(s.cache_read);
    case "cache_write_tokens":
      return n(s.cache_write);
    case "cost_usd":
      return n(s.cost);
    case "runs":
      return n(s.runs);
    case "wall_seconds":
      return n(s.wall) / 1000;
  }
}

/** inScope tells whether an open run falls in budget `b`'s scope. */
function inScope(b: BudgetRow, r: OpenRunScope): boolean {
  switch (b.scope) {
    case "board":
      return true;
    case "profile":
      return r.profile === b.target;
    case "tenant":
      return r.tenant === b.target;
    case "task":
      return r.task_id === b.target;
  }
}

/** What one pass reads to judge every budget: the rows, the open runs, the window sums. */
interface Ledger {
  now: number;
  budgets: BudgetRow[];
  open: OpenRunScope[];
  /** Ended runs' sums per (window start, scope key). */
  sums: Map<string, UsageSumsRow>;
}

const ZERO: UsageSumsRow = {
  runs: 0,
  with_usage: 0,
  input: 0,
  output: 0,
  cache_read: 0,
  cache_write: 0,
  reasoning: 0,
  cost: 0,
  with_cost: 0,
  wall: 0,
};

function add(a: UsageSumsRow, b: UsageSumsRow): UsageSumsRow {
  const n = (v: number | null) => Number(v ?? 0);
  return {
    runs: n(a.runs) + n(b.runs),
    with_usage: n(a.with_usage) + n(b.with_usage),
    input: n(a.input) + n(b.input),
    output: n(a.output) + n(b.output),
    cache_read: n(a.cache_read) + n(b.cache_read),
    cache_write: n(a.cache_write) + n(b.cache_write),
    reasoning: n(a.reasoning) + n(b.reasoning),
    cost: n(a.cost) + n(b.cost),
    with_cost: n(a.with_cost) + n(b.with_cost),
    wall: n(a.wall) + n(b.wall),
  };
}

/** ledger reads what the budgets need, one grouped query per distinct window. */
async function ledger(k: Kernel, budgets: BudgetRow[]): Promise<Ledger> {
  const now = k.now();
  const open = budgets.length === 0 ? [] : await k.q.openRunScopes();
  const sums = new Map<string, UsageSumsRow>();
  const windows = new Set<number>();
  for (const b of budgets) {
    const w = windowOf(b.period, b.hours, now);
    if (w !== null && b.scope !== "task") windows.add(w.start);
  }
  for (const since of windows) {
    const rows = await k.q.usageByProfileAndTenant({ since, until: now, tenant: null });
    for (const r of rows) {
      for (const key of ["board", `profile:${r.profile}`, `tenant:${r.tenant}`]) {
        const at = `${since}|${key}`;
        sums.set(at, add(sums.get(at) ?? ZERO, r));
      }
    }
  }
  for (const b of budgets) {
    const w = windowOf(b.period, b.hours, now);
    if (w === null || b.scope !== "task") continue;
    const [r] = await k.q.usageOfTasks([b.target!], w.start);
    sums.set(`${w.start}|task:${b.target}`, r ?? ZERO);
  }
  return { now, budgets, open, sums };
}

/** statusOf is budget `b`'s spend as of the ledger. */
function statusOf(l: Ledger, b: BudgetRow): BudgetStatus {
  const w = windowOf(b.period, b.hours, l.now);
  const open = l.open.filter((r) => inScope(b, r));
  let spent: number;
  if (w === null) {
    // each run on its own: only time and runs are known while a run is in flight
    spent = b.metric === "wall_seconds"
      ? Math.max(0, ...open.map((r) => (l.now - r.started_at) / 1000))
      : b.metric === "runs"
      ? (open.length > 0 ? 1 : 0)
      : 0;
  } else {
    const ended =
      l.sums.get(`${w.start}|${b.scope === "board" ? "board" : `${b.scope}:${b.target}`}`) ??
        ZERO;
    spent = metricOf(ended, b.metric);
    if (b.metric === "runs") spent += open.length;
    if (b.metric === "wall_seconds") {
      spent += open.reduce((s, r) => s + (l.now - Math.max(r.started_at, w.start)) / 1000, 0);
    }
  }
  spent = Math.round(spent * 1e6) / 1e6;
  return {
    ...toBudget(b),
    window_start: w === null ? null : iso(w.start),
    resets_at: w === null || w.end === null ? null : iso(w.end),
    spent,
    in_flight: open.length,
    state: spent >= b.cap ? "over" : "ok",
  };
}

/** listBudgets is every budget with its window's spend. */
export async function listBudgets(k: Kernel): Promise<BudgetStatus[]> {
  const budgets = await k.q.budgetsAll();
  const l = await ledger(k, budgets);
  return budgets.map((b) => statusOf(l, b));
}

/** How many points a budget's plot has over its window. */
export const SERIES_POINTS = 24;

/** What a budget's window has spent over time, for a plot of spent against cap. */
export interface BudgetSeries {
  budget: string;
  cap: number;
  metric: BudgetMetric;
  /** The window plotted: its start, and its end (its reset) or now for a rolling window. */
  from: string;
  to: string;
  /** The end of each point's span (ISO), SERIES_POINTS of them. */
  at: string[];
  /**
   * What the window's ended runs had spent by each point, summed (null: a point not yet
   * reached). Runs in flight are not in it: the budget list's `spent` counts them.
   */
  spent: (number | null)[];
}

/**
 * budgetSeries is a budget's spend over its current window, point by point; null for a
 * budget of each run (no window to plot) or of one task (its runs are few: the list says it).
 */
export async function budgetSeries(k: Kernel, name: string): Promise<BudgetSeries | null> {
  const b = (await k.q.budgetsAll()).find((x) => x.name === name);
  if (b === undefined) throw new NotFoundError(`No budget "${name}"`);
  const now = k.now();
  const w = windowOf(b.period, b.hours, now);
  if (w === null || b.scope === "task") return null;
  const to = w.end ?? now;
  const size = Math.max(1, Math.ceil((to - w.start) / SERIES_POINTS));
  const rows = await k.q.endedRunsPerBucket({
    origin: w.start,
    size,
    now,
    tenant: b.scope === "tenant" ? b.target : null,
  });
  const per = Array.from({ length: SERIES_POINTS }, () => 0);
  for (const r of rows) {
    if (b.scope === "profile" && r.profile !== b.target) continue;
    if (r.b >= 0 && r.b < SERIES_POINTS) per[r.b]! += metricOf(r, b.metric);
  }
  const at: string[] = [];
  const spent: (number | null)[] = [];
  let sum = 0;
  for (let i = 0; i < SERIES_POINTS; i++) {
    const end = w.start + (i + 1) * size;
    at.push(iso(Math.min(end, to)));
    sum += per[i]!;
    spent.push(end - size > now ? null : Math.round(sum * 1e6) / 1e6);
  }
  return {
    budget: b.name,
    cap: b.cap,
    metric: b.metric,
    from: iso(w.start),
    to: iso(to),
    at,
    spent,
  };
}

// Enforcement -----------------------------------------------------------------------------------

/** What a dispatcher's pass must hold back and stop, by the hard budgets. */
export interface BudgetHolds {
  /** Profiles none of whose tasks may be claimed now, with the budget that holds each. */
  profiles: Map<string, string>;
  /** Tenants whose tasks may not be claimed now. */
  tenants: Map<string, string>;
  /** Tasks that may not be claimed now. */
  tasks: Map<string, string>;
  /** Runs in flight to stop: each with the budget it crossed and whether to block its task. */
  stop: { run: number; task: string; budget: string; reason: string; block: boolean }[];
  /** Every budget's spend (for the status and the events). */
  status: BudgetStatus[];
}

/** The unit of a metric, for messages. */
export function unitOf(metric: BudgetMetric): string {
  return metric === "cost_usd"
    ? "USD"
    : metric === "wall_seconds"
    ? "seconds"
    : metric === "runs"
    ? "runs"
    : metric.replace(/_/g, " ");
}

/** windowText names a budget's window in a message: "today (UTC)", "in 5 hours", "per run". */
export function windowText(b: Pick<Budget, "period" | "hours">): string {
  switch (b.period) {
    case "run":
      return "per run";
    case "hours":
      return `in the last ${b.hours} hours`;
    case "day":
      return "today (UTC)";
    case "week":
      return "this week (UTC)";
    case "month":
      return "this month (UTC)";
  }
}

/** estimateOf is the average `metric` of a profile's recent runs (its reservation per run). */
async function estimateOf(k: Kernel, profile: string, metric: BudgetMetric): Promise<number> {
  if (metric === "runs") return 1;
  const runs = await k.q.recentRunsOf(profile, RESERVATION_RUNS);
  if (runs.length === 0) return 0;
  let total = 0;
  for (const r of runs) {
    if (metric === "wall_seconds") {
      total += Number(r.wall_ms) / 1000;
      continue;
    }
    const u = r.usage === null ? null : JSON.parse(r.usage) as Record<string, number>;
    if (u === null) continue;
    const sums: UsageSumsRow = {
      ...ZERO,
      input: u["input_tokens"] ?? 0,
      output: u["output_tokens"] ?? 0,
      cache_read: u["cache_read_tokens"] ?? 0,
      cache_write: u["cache_write_tokens"] ?? 0,
      cost: u["cost_usd"] ?? 0,
    };
    total += metricOf(sums, metric);
  }
  return total / runs.length;
}

/**
 * budgetHolds judges the hard budgets for a dispatcher whose profiles are `profiles`: which
 * profiles, tenants and tasks may not be claimed (a claim is held when what the window spent,
 * plus a reservation for every run in flight in the scope and for the new one, would pass the
 * cap), and which runs in flight to stop (the window is spent, or a run passed a per-run cap).
 * It records each budget's first crossing in a window (`budget_exceeded`, soft ones too).
 */
export async function budgetHolds(
  k: Kernel,
  profiles: readonly string[],
  actor: Actor,
): Promise<BudgetHolds> {
  const holds: BudgetHolds = {
    profiles: new Map(),
    tenants: new Map(),
    tasks: new Map(),
    stop: [],
    status: [],
  };
  const budgets = await k.q.budgetsAll();
  if (budgets.length === 0) return holds;
  const l = await ledger(k, budgets);
  const estimates = new Map<string, number>();
  const estimate = async (profile: string | null, metric: BudgetMetric) => {
    if (profile === null) return metric === "runs" ? 1 : 0;
    const key = `${profile}|${metric}`;
    if (!estimates.has(key)) estimates.set(key, await estimateOf(k, profile, metric));
    return estimates.get(key)!;
  };
  for (const b of budgets) {
    const s = statusOf(l, b);
    holds.status.push(s);
    const w = windowOf(b.period, b.hours, l.now);
    const open = l.open.filter((r) => inScope(b, r));
    const text = `budget "${b.name}": ${s.spent} of ${b.cap} ${unitOf(b.metric)} ${windowText(s)}`;
    if (s.state === "over" && await k.q.budgetNote(b.name, w?.start ?? l.now)) {
      appendEvent(k, b.scope === "task" ? b.target : null, null, "budget_exceeded", actor, {
        budget: b.name,
        spent: s.spent,
        cap: b.cap,
        metric: b.metric,
        hard: b.hard === 1,
        ...(w === null ? {} : { window_start: iso(w.start) }),
      });
    }
    if (b.hard !== 1) continue;
    if (w === null) {
      // per run: only time is known while a run is in flight
      if (b.metric !== "wall_seconds") continue;
      for (const r of open) {
        if ((l.now - r.started_at) / 1000 >= b.cap) {
          holds.stop.push({
            run: r.id,
            task: r.task_id,
            budget: b.name,
            reason: `budget "${b.name}": a run may take at most ${b.cap} seconds`,
            block: true,
          });
        }
      }
      continue;
    }
    // Runs in flight are stopped once the window is spent without them: a run counts when it
    // starts, so a runs budget at its cap holds claims and stops nothing; time counts as it
    // passes, so a time budget stops its runs once past the cap.
    const spentBefore = b.metric === "runs"
      ? 0
      : b.metric === "wall_seconds"
      ? (s.spent > b.cap ? Infinity : 0)
      : s.spent;
    if (spentBefore >= b.cap) {
      for (const r of open) {
        holds.stop.push({ run: r.id, task: r.task_id, budget: b.name, reason: text, block: false });
      }
    }
    // the reservation: every run in flight in the scope at its profile's average, then the new one
    let reserved = 0;
    if (b.metric !== "runs" && b.metric !== "wall_seconds") {
      for (const r of open) reserved += await estimate(r.profile, b.metric);
    }
    const fits = async (profile: string) =>
      s.spent + reserved + await estimate(profile, b.metric) <= b.cap;
    switch (b.scope) {
      case "board":
      case "profile":
        for (const p of profiles) {
          if (b.scope === "profile" && p !== b.target) continue;
          if (!holds.profiles.has(p) && !await fits(p)) holds.profiles.set(p, text);
        }
        break;
      case "tenant":
      case "task": {
        // the task's profile is known only once claimed: the costliest of this host's profiles
        let room = true;
        for (const p of profiles) if (!await fits(p)) room = false;
        const into = b.scope === "tenant" ? holds.tenants : holds.tasks;
        if (!room && !into.has(b.target!)) into.set(b.target!, text);
      }
    }
  }
  return holds;
}

/**
 * budgetReasons says which hard budgets hold a ready task (a check of `kanban why`, why.ts): a
 * spent one in its scope (the board, its profile, its tenant, the task), or one whose
 * reservation a live dispatcher reported holding it back with (its last pass's budget_held).
 */
export async function budgetReasons(
  k: Kernel,
  task: { id: string; assignee: string | null; tenant: string | null },
  held: readonly { kind: string; name: string; reason: string }[],
): Promise<{ code: string; message: string; detail: Record<string, unknown> }[]> {
  const budgets = (await k.q.budgetsAll()).filter((b) =>
    b.hard === 1 && (b.scope === "board" ||
      (b.scope === "profile" && b.target === task.assignee) ||
      (b.scope === "tenant" && b.target === task.tenant) ||
      (b.scope === "task" && b.target === task.id))
  );
  const out: { code: string; message: string; detail: Record<string, unknown> }[] = [];
  const said = new Set<string>();
  if (budgets.length > 0) {
    const l = await ledger(k, budgets);
    for (const b of budgets) {
      const s = statusOf(l, b);
      if (s.state !== "over" || s.period === "run") continue;
      const message = `budget "${b.name}" is spent: ${s.spent} of ${b.cap} ${unitOf(b.metric)} ${
        windowText(s)
      }${s.resets_at === null ? "" : `; it resets at ${s.resets_at}`}`;
      said.add(b.name);
      out.push({
        code: "budget",
        message,
        detail: { budget: b.name, spent: s.spent, cap: b.cap, resets_at: s.resets_at },
      });
    }
  }
  for (const h of held) {
    const mine = (h.kind === "profile" && h.name === task.assignee) ||
      (h.kind === "tenant" && h.name === task.tenant) || (h.kind === "task" && h.name === task.id);
    const name = /^budget "([^"]+)"/.exec(h.reason)?.[1];
    if (!mine || (name !== undefined && said.has(name))) continue;
    if (name !== undefined) said.add(name);
    out.push({
      code: "budget",
      message: `${h.reason}: a dispatcher holds it back, as one more run would pass the cap`,
      detail: { budget: name ?? null, held: h.kind },
    });
  }
  return out;
}
