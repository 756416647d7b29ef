/**
 * The health of a board's dispatching, as `kanban status` prints it and `GET /api/v1/status`
 * returns it: dispatchers and their last pass, running workers, caps in use, the ready queue,
 * and warnings worth a person's attention. One computation, so both surfaces agree.
 */
import { statSync } from "node:fs";
import { hostname } from "node:os";
import { type Config, loadConfig } from "../config/config.ts";
import type { Env } from "../config/paths.ts";
import {
  type BudgetStatus,
  type Dispatcher,
  holdMessage,
  KanbanError,
  type ProfileHold,
  type QueueEntry,
  type Store,
  unitOf,
  windowText,
} from "../store/mod.ts";
import { profileWarnings } from "./profiles.ts";
import { liveness } from "./proc.ts";
import type { TickConfig } from "./report.ts";

/** ago is how many whole seconds before `now` the time `iso` was (null stays null). */
export const ago = (iso: string | null, now: number): number | null =>
  iso === null ? null : Math.max(0, Math.round((now - Date.parse(iso)) / 1000));

export interface DispatcherHealth extends Dispatcher {
  last_tick_age_s: number | null;
  /** It holds an unexpired dispatch lease: it is the one claiming work for its host. */
  holds_board: boolean;
  /** It leads the board (its board-wide chores: notifications, clock steps). */
  leader: boolean;
  /** Its workers at its last pass (null: it has not reported a pass). */
  workers: number | null;
  /** The labels its host offers (dispatch.labels), as of its last pass. */
  labels: string[];
  /** Ready tasks it holds, by reason (services/hold.ts), as of its last look at the queue. */
  holds: Record<string, number>;
  /** Its machine's pressure at its last pass: held, new workers wait there (null: unknown). */
  pressure: { held: boolean; reason: string | null; detail: string | null } | null;
  /**
   * active: runs for its host; standby: alive, waiting to take over its host's work;
   * stopped: shut down cleanly; gone: its process is no longer there (same host), or it has
   * not been heard of for several lease periods (killed, or its host is down or cut off).
   */
  state: "active" | "standby" | "stopped" | "gone";
}

export interface WorkerHealth {
  run: number;
  task: string;
  title: string;
  profile: string | null;
  pid: number | null;
  host: string | null;
  started_at: string;
  age_s: number | null;
  /** When its log file last changed (its last output). */
  last_output_at: string | null;
  heartbeat_at: string | null;
  lease_expires: string | null;
}

export interface BoardHealth {
  board: string;
  dispatchers: DispatcherHealth[];
  workers: WorkerHealth[];
  caps: {
    max_workers: number | null;
    /** Where max_workers came from: config.toml, or the machine's memory (it was unset). */
    max_workers_from: "config" | "memory" | null;
    running: number;
    profiles: { profile: string; running: number; max_concurrent: number }[];
    /**
     * Where the profiles come from: the config the active dispatcher has loaded, or (with no
     * active dispatcher) config.toml as it reads now.
     */
    source: "dispatcher" | "config";
  };
  queue: {
    ready: number;
    claimable: number;
    oldest_ready_at: string | null;
    by_assignee: QueueEntry[];
  };
  /** The board's routines (lib/store/routines.ts), soonest next time first, paused last. */
  routines: RoutineHealth[];
  /** Every budget with what its window has spent (lib/store/budgets.ts). */
  budgets: BudgetStatus[];
  /** The profiles held now for a rate limit, quota or failed sign-in (lib/store/holds.ts). */
  holds: ProfileHold[];
  warnings: string[];
}

/** A routine as status shows it. */
export interface RoutineHealth {
  name: string;
  cron: string;
  tz: string;
  paused: boolean;
  /** Its next occurrence (ISO), null when paused or when its cron never occurs again. */
  next_at: string | null;
  last_at: string | null;
}

export interface HealthOptions {
  store: Store;
  /** Environment for config.toml ($KANBAN_CONFIG, $KANBAN_HOME) and $PATH (profile commands). */
  env: Env;
  now: number;
}

/** boardHealth reads the board (and config.toml) and says how its dispatching is doing. */
export async function boardHealth({ store, env, now }: HealthOptions): Promise<BoardHealth> {
  const warnings: string[] = [];
  let config: Config | null = null;
  try {
    config = loadConfig(env);
  } catch (err) {
    warnings.push(`config: ${err instanceof KanbanError ? err.message : String(err)}`);
  }
  const leaseS = (config?.dispatch.dispatcher_lease ?? 15_000) / 1000;
  const here = hostname();
  const dispatchers = (await store.dispatchers()).map((d): DispatcherHealth => {
    const age = ago(d.last_tick, now);
    const holds = d.stopped_at === null && d.lease_expires !== null &&
      Date.parse(d.lease_expires) > now;
    const vanished = (d.host === here && liveness(d.pid, null) !== "alive") ||
      (age ?? 0) > 3 * leaseS + 30;
    const state = d.stopped_at !== null
      ? "stopped"
      : vanished
      ? "gone"
      : holds
      ? "active"
      : "standby";
    const report = d.report as
      | { workers?: unknown; labels?: unknown; holds?: unknown; pressure?: unknown }
      | null;
    return {
      ...d,
      last_tick_age_s: age,
      holds_board: holds && state === "active",
      leader: d.active && holds && state === "active",
      workers: typeof report?.workers === "number" ? report.workers : null,
      labels: Array.isArray(report?.labels)
        ? report.labels.filter((l): l is string => typeof l === "string")
        : [],
      holds: countsOf(report?.holds),
      pressure: pressureOf(report?.pressure),
      state,
    };
  });
  const runs = await store.openRuns();
  // One read for the titles: an open run's task is running (lib/store/invariants.ts); should
  // one not be, it is looked up alone.
  const titles = new Map(
    (await store.listTasks({ statuses: ["running"] })).map((t) => [t.id, t.title]),
  );
  const workers = await Promise.all(runs.map(async (r): Promise<WorkerHealth> => {
    const title = titles.get(r.task_id) ?? (await store.getTask(r.task_id)).title;
    let lastOutput: string | null = null;
    try {
      if (r.log_path) lastOutput = statSync(r.log_path).mtime.toISOString();
    } catch { /* no log yet */ }
    return {
      run: r.id,
      task: r.task_id,
      title,
      profile: r.profile,
      pid: r.pid,
      host: r.host,
      started_at: r.started_at,
      age_s: ago(r.started_at, now),
      last_output_at: lastOutput,
      heartbeat_at: r.heartbeat_at,
      lease_expires: r.lease_expires,
    };
  }));
  const queue = await store.readyQueue();
  const ready = queue.reduce((n, q) => n + q.ready, 0);
  const claimable = queue.reduce((n, q) => n + q.claimable, 0);
  const oldest = queue.map((q) => q.oldest_ready_at).filter((x): x is string => x !== null)
    .sort()[0] ?? null;
  // The config that counts is that of this host's running dispatcher, else the leader's.
  const active = dispatchers.find((d) => d.holds_board && d.host === here) ??
    dispatchers.find((d) => d.leader) ?? dispatchers.find((d) => d.holds_board);
  // What the running dispatcher has loaded is what counts: config.toml may have changed since
  // (it reloads within a pass), or hold an error it refused.
  const running = runningConfig(active);
  const profiles: Record<string, { max_concurrent: number }> = running?.profiles ??
    config?.profiles ?? {};
  const caps = {
    max_workers: running?.max_workers ?? config?.dispatch.max_workers ?? null,
    max_workers_from: running?.max_workers_from ?? config?.dispatch.max_workers_from ?? null,
    running: runs.length,
    profiles: Object.entries(profiles).map(([name, p]) => ({
      profile: name,
      running: runs.filter((r) => r.profile === name).length,
      max_concurrent: p.max_concurrent,
    })),
    source: running ? "dispatcher" as const : "config" as const,
  };
  if (running && config) {
    const unloaded = Object.keys(config.profiles).filter((p) => !(p in running.profiles));
    if (unloaded.length > 0) {
      warnings.push(
        `config.toml defines profile(s) ${unloaded.join(", ")} that the running dispatcher ` +
          `has not loaded (it reloads a changed file within a pass; see its log for why not)`,
      );
    }
  }
  if (!active && claimable > 0) {
    warnings.push(
      `${claimable} task(s) ready to run but no dispatcher holds this board (run "kanban dispatch")`,
    );
  }
  const poll = (config?.dispatch.poll_interval ?? 2000) / 1000;
  if (active && (active.last_tick_age_s ?? 0) > 3 * poll + 5) {
    warnings.push(
      `dispatcher ${active.id} has not completed a pass for ${active.last_tick_age_s}s`,
    );
  }
  const waited = ago(oldest, now);
  if (waited !== null && waited > 600 && claimable > 0) {
    warnings.push(
      `stuck queue: the oldest ready task has waited ${Math.round(waited / 60)} min`,
    );
  }
  for (const q of queue) {
    if (q.assignee === null) {
      warnings.push(`${q.ready} ready task(s) have no assignee, so no profile runs them`);
    } else if ((running || config) && !(q.assignee in profiles)) {
      warnings.push(
        `${q.ready} ready task(s) for "${q.assignee}", which has no profile ${
          running ? "in the running dispatcher's config" : "in config.toml"
        }`,
      );
    }
  }
  for (const d of dispatchers) {
    if (d.state === "active" && d.pressure?.held) {
      warnings.push(`${d.host} holds new workers: ${d.pressure.detail ?? d.pressure.reason}`);
    }
  }
  warnings.push(...profileWarnings(config?.profiles ?? {}, env));
  const tripped = (await store.listTasks({ statuses: ["blocked"] }))
    .filter((t) => /consecutive failed attempts/.test(t.blocked_reason ?? ""));
  for (const t of tripped) {
    warnings.push(`breaker tripped: ${t.id} (${t.assignee ?? "-"}): ${t.blocked_reason}`);
  }
  // Notifications (lib/store/subscriptions.ts): a disabled subscription needs a person.
  for (const sub of await store.listSubscriptions()) {
    if (sub.state !== "disabled") continue;
    warnings.push(
      `notification ${sub.id} (${sub.kind} ${sub.target}) disabled after ${sub.failures} ` +
        `failures: ${sub.last_error ?? "-"}; fix it, then "kanban notify enable ${sub.id}"`,
    );
  }
  const routines = (await store.listRoutines()).map((r): RoutineHealth => ({
    name: r.name,
    cron: r.cron,
    tz: r.tz,
    paused: r.paused,
    next_at: r.paused ? null : r.next_at,
    last_at: r.last_at,
  })).sort((a, b) =>
    Number(a.paused) - Number(b.paused) ||
    (a.next_at ?? "~").localeCompare(b.next_at ?? "~") || a.name.localeCompare(b.name)
  );
  const budgets = await store.budgets();
  for (const b of budgets) {
    if (b.state !== "over" || !b.hard || b.period === "run") continue;
    warnings.push(
      `budget ${b.name} spent (${b.spent} of ${b.cap} ${unitOf(b.metric)} ${windowText(b)}): ` +
        `its claims are held${b.resets_at === null ? "" : ` until ${b.resets_at}`}`,
    );
  }
  const holds = (await store.profileHolds()).filter((h) => h.active);
  for (const h of holds) warnings.push(holdMessage(h));
  return {
    board: store.where,
    dispatchers,
    workers,
    caps,
    queue: { ready, claimable, oldest_ready_at: oldest, by_assignee: queue },
    routines,
    budgets,
    holds,
    warnings,
  };
}

/** runningConfig is the config the active dispatcher recorded with its last pass, if any. */
function runningConfig(d: DispatcherHealth | undefined): TickConfig | null {
  const r = d?.report as Partial<TickConfig> | null | undefined;
  if (!r || typeof r.profiles !== "object" || r.profiles === null) return null;
  return {
    config: r.config ?? null,
    profiles: r.profiles,
    max_workers: typeof r.max_workers === "number" ? r.max_workers : 0,
    max_workers_from: r.max_workers_from === "memory" ? "memory" : "config",
    labels: Array.isArray(r.labels) ? r.labels.filter((l) => typeof l === "string") : [],
  };
}

/** countsOf reads a tick's `holds` (reason -> count), keeping only numbers. */
function countsOf(v: unknown): Record<string, number> {
  if (typeof v !== "object" || v === null) return {};
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).filter((e): e is [string, number] =>
      typeof e[1] === "number"
    ),
  );
}

/** pressureOf reads a tick's `pressure`, or null. */
function pressureOf(v: unknown): DispatcherHealth["pressure"] {
  if (typeof v !== "object" || v === null) return null;
  const p = v as Record<string, unknown>;
  return {
    held: p["held"] === true,
    reason: typeof p["reason"] === "string" ? p["reason"] : null,
    detail: typeof p["detail"] === "string" ? p["detail"] : null,
  };
}
