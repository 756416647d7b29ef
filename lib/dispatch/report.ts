/** The report of one dispatcher pass, and the small part of it kept as the dispatcher's tick. */
import type { Config } from "../config/config.ts";
import type { ShiftResult, Store } from "../store/mod.ts";
import type { NotifyReport } from "./notify.ts";
import type { Pressure } from "./pressure.ts";

export interface PassReport {
  at: string;
  dispatcher: string;
  /** This dispatcher runs for its host. */
  active: boolean;
  /** It leads the board (board-wide services, clock steps). */
  leader: boolean;
  dry_run: boolean;
  /** The dispatcher of this host that runs when this one stands by. */
  standby_for: string | null;
  took_over_from: string | null;
  reaped: {
    run: number;
    task: string;
    outcome: string;
    exit_code: number | null;
    signal: string | null;
  }[];
  adopted: { run: number; task: string; pid: number }[];
  ended: { run: number; task: string; outcome: string; reason: string }[];
  stopping: { run: number; task: string; reason: string }[];
  promoted: number;
  /** Triage tasks handed to the orchestrator this pass (decompose.auto). */
  decomposing: { task: string; profile: string }[];
  /** Routine occurrences fired this pass (services/routines.ts). */
  routines_fired: { routine: string; occurrence: string; tasks: string[]; catch_up: boolean }[];
  routines_failed: { routine: string; error: string }[];
  /** A dry run's due routines: what a pass would fire (the next occurrence due, its policy). */
  would_fire: { routine: string; next_at: string; catch_up: string }[];
  spawned: { run: number; task: string; profile: string; pid: number }[];
  spawn_failed: { run: number; task: string; error: string }[];
  would_spawn: { task: string; profile: string; title: string }[];
  missing_profiles: { assignee: string | null; ready: number }[];
  capped: { profile: string; running: number; max: number }[];
  /** Held back by a hard budget this pass (services/budgets.ts). */
  budget_held: { kind: "profile" | "tenant" | "task"; name: string; reason: string }[];
  /** Profiles held for a rate limit, quota or failed sign-in, board-wide (services/quota.ts). */
  quota_held: { profile: string; kind: string; until: string | null; reason: string }[];
  /** What will keep a profile's workers from running here (profileWarnings). */
  warnings: string[];
  workers: number;
  max_workers: number;
  /** Where max_workers came from: config.toml, or the machine's memory (unset in the file). */
  max_workers_from: "config" | "memory";
  /** The machine's memory and load this pass, and whether new workers are held for it. */
  pressure: Pressure | null;
  /** Held events recorded this pass: ready tasks left unclaimed for a new reason. */
  held: { task: string; reason: string }[];
  /** Ready tasks this host holds, by reason (services/hold.ts). */
  holds: Record<string, number>;
  draining: boolean;
  /** The last finished notification round (delivery runs beside the passes). */
  notifications: NotifyReport | null;
  /** A step of the wall clock seen this pass, and the deadlines moved by it. */
  clock_step?: ShiftResult;
}

/** missingProfiles lists ready tasks whose assignee no profile runs (reported, never spawned). */
export async function missingProfiles(
  store: Store,
  profiles: Record<string, unknown>,
): Promise<PassReport["missing_profiles"]> {
  return (await store.readyQueue())
    .filter((q) => q.assignee === null || !(q.assignee in profiles))
    .map((q) => ({ assignee: q.assignee, ready: q.ready }));
}

/** The config a running dispatcher has loaded, as its tick records it for status. */
export interface TickConfig {
  /** config.toml's path (null: defaults, no file). */
  config: string | null;
  /** Its profiles and their caps. */
  profiles: Record<string, { max_concurrent: number }>;
  max_workers: number;
  /** Where max_workers came from: config.toml, or the machine's memory. */
  max_workers_from: "config" | "memory";
  /** The labels its host offers. */
  labels: string[];
}

/** tickConfig is what a dispatcher's tick says about the config it runs with. */
export function tickConfig(config: Config): TickConfig {
  return {
    config: config.path,
    profiles: Object.fromEntries(
      Object.entries(config.profiles).map(([name, p]) => [name, {
        max_concurrent: p.max_concurrent,
      }]),
    ),
    max_workers: config.dispatch.max_workers,
    max_workers_from: config.dispatch.max_workers_from,
    labels: config.dispatch.labels,
  };
}

/** summary is the part of a pass report stored as the dispatcher's tick (kept small). */
export function summary(r: PassReport, config: Config): Record<string, unknown> {
  return {
    ...tickConfig(config),
    at: r.at,
    leader: r.leader,
    workers: r.workers,
    max_workers: r.max_workers,
    spawned: r.spawned.length,
    reaped: r.reaped.length,
    ended: r.ended.length,
    stopping: r.stopping.length,
    promoted: r.promoted,
    routines_fired: r.routines_fired.length,
    spawn_failed: r.spawn_failed,
    notifications: r.notifications,
    missing_profiles: r.missing_profiles,
    capped: r.capped,
    budget_held: r.budget_held,
    // what `kanban why` on any host reads of this one (lib/store/why.ts, HostOffer)
    pressure: r.pressure === null
      ? null
      : { held: r.pressure.held, reason: r.pressure.reason, detail: r.pressure.detail },
    holds: r.holds,
    draining: r.draining,
  };
}

/**
 * mergeReport adds a service's report to the pass's: its lists are appended (several services
 * report stops), its other fields set. A key the pass report lacks (clock_step) goes last, as
 * it always did.
 */
export function mergeReport(pass: PassReport, part: object): void {
  const into = pass as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(part)) {
    const had = into[key];
    if (Array.isArray(had) && Array.isArray(value)) had.push(...value);
    else into[key] = value;
  }
}
