/**
 * The quota service (lib/store/holds.ts, lib/dispatch/quota.ts): reads the profiles' holds
 * once per pass, before the budgets and the fill service, which claims nothing for a held
 * profile; and watches the output of this host's running workers for a CLI stuck retrying a
 * rate limit, an exhausted quota or a failed sign-in (classifyLive): such a worker is stopped
 * (outcome `transient`, not the task's failure) and its profile held on the board, for every
 * host, until the reset time its CLI reported or for a backoff. A worker that exits on such
 * trouble is read the same way by the reap service (holdFor). The log says when a profile's
 * hold starts and ends, once each.
 */
import type { ProfileHold, Store } from "../../store/mod.ts";
import { presetOf } from "../profiles.ts";
import { tailLines } from "../output.ts";
import { classifyLive, describeFailure, type FailureClass } from "../quota.ts";
import { type ConfigSource, DISPATCHER_ACTOR, type Now, type Service } from "./service.ts";
import type { Stopping, Worker, WorkerTable } from "./workers.ts";

export interface QuotaReport {
  /** Profiles held now (rate limit, quota or failed sign-in), board-wide. */
  quota_held: { profile: string; kind: string; until: string | null; reason: string }[];
  stopping: Stopping[];
}

export interface QuotaDeps {
  store: Store;
  config: ConfigSource;
  workers: WorkerTable;
  host: string;
  log: (line: string) => void;
}

/**
 * What the quota service leaves the other services: the profiles' holds as last read (at most
 * once per poll interval, and at once with each hold this host makes).
 */
export interface QuotaGate {
  /** Every profile's hold, by profile (ended ones too, until cleared). */
  holds: Map<string, ProfileHold>;
}

/** heldNow tells whether `profile` is held at `wall` (its hold's time not past). */
export function heldNow(
  gate: QuotaGate | undefined,
  profile: string,
  wall: number,
): ProfileHold | null {
  const h = gate?.holds.get(profile);
  if (h === undefined) return null;
  return h.until === null || Date.parse(h.until) > wall ? h : null;
}

/** How much of a running worker's output end is read for retries (a few dozen lines). */
const LIVE_TAIL_BYTES = 16 * 1024;

/**
 * holdFor holds a worker's profile for what its CLI met (in `gate` too, when given, so this
 * host's next claims see it before the next read), and says so in the run's error (a failed
 * sign-in also names the release command).
 */
export async function holdFor(
  store: Store,
  w: Pick<Worker, "profile" | "taskId" | "runId">,
  found: FailureClass,
  host: string,
  gate?: QuotaGate,
): Promise<{ hold: ProfileHold; error: string }> {
  const hold = await store.holdProfile({
    profile: w.profile,
    kind: found.kind,
    reset_at: found.reset_at ?? null,
    reason: found.message,
    task: w.taskId,
    run: w.runId,
    host,
  }, DISPATCHER_ACTOR);
  gate?.holds.set(hold.profile, hold);
  const until = hold.until === null
    ? `until a person releases it (kanban profile release ${w.profile})`
    : `until ${hold.until}`;
  return {
    hold,
    error: `${
      describeFailure(found)
    }; profile ${w.profile} held ${until}, not counted as a failure`,
  };
}

export class QuotaService implements Service<QuotaReport> {
  readonly name = "quota";
  readonly gate: QuotaGate = { holds: new Map() };
  readonly #d: QuotaDeps;
  /** The log size of each running worker when its output was last read. */
  readonly #looked = new Map<number, number>();
  /** The holds last logged as active, by profile ("kind until"). */
  #logged = new Map<string, string>();
  /** When the holds were last read (monotonic ms; null: never). */
  #readAt: number | null = null;

  constructor(deps: QuotaDeps) {
    this.#d = deps;
  }

  async runOnce(now: Now): Promise<QuotaReport> {
    const { store, workers } = this.#d;
    const report: QuotaReport = { quota_held: [], stopping: [] };
    const d = this.#d.config().dispatch;
    if (this.#readAt === null || now.mono - this.#readAt >= d.poll_interval) {
      this.gate.holds = new Map((await store.profileHolds()).map((h) => [h.profile, h]));
      this.#readAt = now.mono;
    }
    const retries = d.quota_retries;
    const running = new Set<number>();
    for (const w of workers.all()) {
      running.add(w.runId);
      if (w.exit !== null || w.stop || w.logPath === null || w.spawning) continue;
      if (this.#looked.get(w.runId) === w.logBytes) continue; // nothing new printed
      this.#looked.set(w.runId, w.logBytes);
      const preset = presetOf(this.#d.config().profiles[w.profile]);
      const lines = tailLines(w.logPath, LIVE_TAIL_BYTES);
      const found = preset?.classifyLive?.(lines, retries, now.wall) ??
        classifyLive(lines, retries, now.wall);
      if (found === null) continue;
      const { error } = await holdFor(store, w, found, this.#d.host, this.gate);
      w.quota = found;
      workers.startStop(w, "transient", error, report.stopping);
    }
    for (const id of this.#looked.keys()) if (!running.has(id)) this.#looked.delete(id);
    for (const h of this.gate.holds.values()) {
      if (heldNow(this.gate, h.profile, now.wall) === null) continue;
      report.quota_held.push({
        profile: h.profile,
        kind: h.kind,
        until: h.until,
        reason: h.reason,
      });
    }
    this.#logChanges(report.quota_held);
    return report;
  }

  #logChanges(held: QuotaReport["quota_held"]): void {
    const now = new Map(held.map((h) => [h.profile, `${h.kind} ${h.until ?? "release"}`]));
    for (const h of held) {
      if (this.#logged.get(h.profile) === now.get(h.profile)) continue;
      const until = h.until === null
        ? "until released (kanban profile release)"
        : `until ${h.until}`;
      this.#d.log(`holding profile ${h.profile} ${until}: ${h.kind} (${h.reason})`);
    }
    for (const p of this.#logged.keys()) {
      if (!now.has(p)) this.#d.log(`profile ${p} is no longer held`);
    }
    this.#logged = now;
  }
}
