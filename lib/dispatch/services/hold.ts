/**
 * The hold service: after the fill service, says why the ready tasks it left unclaimed wait
 * on this host, and records a `held` event (`{reason, host, detail}`) for a task only when its
 * reason is new: not again on every pass while the reason stays, again when it changes. The
 * last reason per task is kept in memory; a task first seen by this dispatcher (after a
 * restart) is compared with its last `held` event in the board, so a restart records nothing
 * new either. It looks at the ready queue at most once per poll interval of the monotonic
 * clock (a pass runs on every board write, and the look reads every ready task), and publishes
 * the counts per reason with the dispatcher's tick (`kanban status`).
 *
 * The reasons are those of `kanban why` (lib/store/why.ts), judged from this host's side. A
 * task this host cannot run (no profile for its assignee here, or labels it lacks) is held here
 * only when no other live host can run it either (`no_profile`, `labels`): another host's work is
 * not this one's to report. A task it can run is held for `backoff`, `quota` (its profile is
 * held for its account's limits), `pressure`, `draining`,
 * `profile_cap` or `host_full`.
 */
import { holdMessage, type HostOffer, type Store, type TaskSummary } from "../../store/mod.ts";
import type { Pressure } from "../pressure.ts";
import { type ConfigSource, DISPATCHER_ACTOR, type Now, type Service } from "./service.ts";
import type { WorkerTable } from "./workers.ts";
import { heldNow, type QuotaGate } from "./quota.ts";

export interface HoldReport {
  /** Held events recorded this pass (new reasons). */
  held: { task: string; reason: string }[];
  /** Ready tasks this host holds, by reason, as of its last look at the queue. */
  holds: Record<string, number>;
}

export interface HoldDeps {
  store: Store;
  config: ConfigSource;
  workers: WorkerTable;
  host: string;
  /** The machine's pressure as the fill service judged it this pass (null: not judged). */
  pressure: () => Pressure | null;
  draining: () => boolean;
  /** The profiles' holds (services/quota.ts). */
  quota?: QuotaGate | undefined;
}

/** A reason a ready task waits here, or null when nothing on this host holds it. */
export type Hold = { reason: string; detail: string } | null;

export class HoldService implements Service<HoldReport> {
  readonly name = "hold";
  readonly #d: HoldDeps;
  /** The reason last recorded per task (this host's). */
  readonly #last = new Map<string, string>();
  #at: number | null = null;
  #holds: Record<string, number> = {};

  constructor(deps: HoldDeps) {
    this.#d = deps;
  }

  /** forget drops the last look at the queue (config.toml was reloaded). */
  forget(): void {
    this.#at = null;
  }

  async runOnce(now: Now): Promise<HoldReport> {
    const report: HoldReport = { held: [], holds: this.#holds };
    const config = this.#d.config();
    if (this.#at !== null && now.mono - this.#at < config.dispatch.poll_interval) return report;
    this.#at = now.mono;
    const { store, host } = this.#d;
    const ready = await store.listTasks({ statuses: ["ready"] });
    const running = new Map<string, number>();
    for (const r of await store.openRuns()) {
      if (r.profile !== null) running.set(r.profile, (running.get(r.profile) ?? 0) + 1);
    }
    const others = (await store.liveHosts()).filter((h) => h.host !== host);
    const holds: Record<string, number> = {};
    const seen = new Set<string>();
    for (const t of ready) {
      seen.add(t.id);
      const hold = this.#judge(t, running, others, now.wall);
      if (hold === null) {
        this.#last.delete(t.id);
        continue;
      }
      holds[hold.reason] = (holds[hold.reason] ?? 0) + 1;
      if (this.#last.get(t.id) === hold.reason) continue;
      if (!this.#last.has(t.id)) {
        const prev = await store.lastHeld(t.id);
        if (prev?.["reason"] === hold.reason && prev?.["host"] === host) {
          this.#last.set(t.id, hold.reason);
          continue;
        }
      }
      const input = { reason: hold.reason, host, detail: hold.detail };
      if (await store.recordHeld(t.id, input, DISPATCHER_ACTOR)) {
        report.held.push({ task: t.id, reason: hold.reason });
      }
      this.#last.set(t.id, hold.reason);
    }
    for (const id of this.#last.keys()) if (!seen.has(id)) this.#last.delete(id);
    this.#holds = holds;
    report.holds = holds;
    return report;
  }

  /** #judge says why ready task `t` waits on this host (see the module comment). */
  #judge(
    t: TaskSummary,
    running: ReadonlyMap<string, number>,
    others: readonly HostOffer[],
    wall: number,
  ): Hold {
    const config = this.#d.config();
    const profile = t.assignee === null ? undefined : config.profiles[t.assignee];
    const missing = t.needs.filter((l) => !config.dispatch.labels.includes(l));
    if (profile === undefined || missing.length > 0) {
      const elsewhere = others.some((h) =>
        t.assignee !== null && t.assignee in h.profiles &&
        t.needs.every((l) => h.labels.includes(l))
      );
      if (elsewhere) return null;
      if (profile === undefined) {
        return {
          reason: t.assignee === null ? "no_assignee" : "no_profile",
          detail: t.assignee === null
            ? "no assignee"
            : `no live host defines profile "${t.assignee}"`,
        };
      }
      return { reason: "labels", detail: `no live host offers label(s) ${missing.join(", ")}` };
    }
    if (t.retry_after !== null && Date.parse(t.retry_after) > wall) {
      return { reason: "backoff", detail: `retries after ${t.retry_after}` };
    }
    const held = heldNow(this.#d.quota, t.assignee!, wall);
    if (held !== null) return { reason: "quota", detail: holdMessage(held) };
    const pressure = this.#d.pressure();
    if (pressure?.held) return { reason: "pressure", detail: pressure.detail ?? "" };
    if (this.#d.draining()) return { reason: "draining", detail: "this dispatcher drains" };
    const n = running.get(t.assignee!) ?? 0;
    if (n >= profile.max_concurrent) {
      return {
        reason: "profile_cap",
        detail: `profile "${t.assignee}" runs ${n} of max_concurrent ${profile.max_concurrent}`,
      };
    }
    const max = config.dispatch.max_workers;
    if (this.#d.workers.size >= max) {
      return { reason: "host_full", detail: `${this.#d.workers.size} of max_workers ${max}` };
    }
    return null;
  }
}
