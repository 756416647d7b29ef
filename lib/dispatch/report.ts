/** The report of one dispatcher pass, and the small part of it kept as the dispatcher's tick. */
import type { Store } from "../store/mod.ts";
import type { NotifyReport } from "./notify.ts";

export interface PassReport {
  at: string;
  dispatcher: string;
  active: boolean;
  dry_run: boolean;
  /** The dispatcher holding the board when this one stands by. */
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
  spawned: { run: number; task: string; profile: string; pid: number }[];
  spawn_failed: { run: number; task: string; error: string }[];
  would_spawn: { task: string; profile: string; title: string }[];
  missing_profiles: { assignee: string | null; ready: number }[];
  capped: { profile: string; running: number; max: number }[];
  /** What will keep a profile's workers from running here (profileWarnings). */
  warnings: string[];
  workers: number;
  max_workers: number;
  draining: boolean;
  /** The last finished notification round (delivery runs beside the passes). */
  notifications: NotifyReport | null;
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

/** summary is the part of a pass report stored as the dispatcher's tick (kept small). */
export function summary(r: PassReport): Record<string, unknown> {
  return {
    at: r.at,
    workers: r.workers,
    max_workers: r.max_workers,
    spawned: r.spawned.length,
    reaped: r.reaped.length,
    ended: r.ended.length,
    stopping: r.stopping.length,
    promoted: r.promoted,
    spawn_failed: r.spawn_failed,
    notifications: r.notifications,
    missing_profiles: r.missing_profiles,
    capped: r.capped,
    draining: r.draining,
  };
}
