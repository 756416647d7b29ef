/** A dry-run pass: what a dispatcher pass would do, found by reading only. */
import type { Config } from "../config/config.ts";
import type { Store } from "../store/mod.ts";
import { liveness } from "./proc.ts";
import { judgePressure, readMachine } from "./pressure.ts";
import { missingProfiles, type PassReport } from "./report.ts";

export interface DryRunDeps {
  store: Store;
  config: Config;
  host: string;
  now: number;
}

/** dryRun fills `report` with the runs a pass would end or adopt and the tasks it would start. */
export async function dryRun(deps: DryRunDeps, report: PassReport): Promise<PassReport> {
  const { store, config, host, now } = deps;
  const open = await store.openRuns();
  const perProfile = new Map<string, number>();
  for (const run of open) {
    perProfile.set(run.profile ?? "", (perProfile.get(run.profile ?? "") ?? 0) + 1);
    const expired = run.lease_expires !== null && Date.parse(run.lease_expires) < now;
    if (run.pid !== null && run.host === host) {
      const state = liveness(run.pid, run.pid_start_time);
      if (state !== "alive") {
        report.ended.push({
          run: run.id,
          task: run.task_id,
          outcome: expired ? "lost" : "crashed",
          reason: `would end: worker process ${run.pid} is ${state}`,
        });
      } else report.adopted.push({ run: run.id, task: run.task_id, pid: run.pid });
    } else if (expired) {
      report.ended.push({
        run: run.id,
        task: run.task_id,
        outcome: "lost",
        reason: "would end: lease expired",
      });
    }
  }
  const d = config.dispatch;
  report.pressure = judgePressure(readMachine(), {
    min_free_memory: d.min_free_memory,
    max_load: d.max_load,
  });
  // under pressure a pass starts nothing (running workers go on)
  let free = report.pressure.held ? 0 : d.max_workers - open.length;
  // a profile held for its account's limits starts nothing either
  const held = (await store.profileHolds()).filter((h) => h.active);
  report.quota_held = held.map((h) => ({
    profile: h.profile,
    kind: h.kind,
    until: h.until,
    reason: h.reason,
  }));
  const eligible = Object.entries(config.profiles)
    .filter(([name, p]) => (perProfile.get(name) ?? 0) < p.max_concurrent)
    .filter(([name]) => !held.some((h) => h.profile === name)).map(([n]) => n);
  if (free > 0) {
    for (const t of await store.peekClaimable(eligible, free * 4)) {
      if (free <= 0) break;
      const name = t.assignee!;
      const n = perProfile.get(name) ?? 0;
      if (n >= config.profiles[name]!.max_concurrent) continue;
      perProfile.set(name, n + 1);
      free--;
      report.would_spawn.push({ task: t.id, profile: name, title: t.title });
    }
  }
  for (const r of await store.listRoutines()) {
    if (!r.paused && r.next_at !== null && Date.parse(r.next_at) <= now) {
      report.would_fire.push({ routine: r.name, next_at: r.next_at, catch_up: r.catch_up });
    }
  }
  report.missing_profiles.push(...await missingProfiles(store, config.profiles));
  report.workers = open.length;
  return report;
}
