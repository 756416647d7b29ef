/**
 * Why a task is not running: a read model over the task, its parents, the open runs and what
 * every live dispatcher publishes with its pass (its tick report: the profiles it runs and
 * their caps, the labels its host offers, its free slots, its machine's pressure). It reads
 * only the board, so `kanban why` on any host, and the HTTP API, say the same thing.
 *
 * Reasons come in the order a task meets them: a person (triage, blocked, review), its
 * parents, its time (not_before, backoff), then the fleet: someone to run it at all (an
 * assignee, a live dispatcher, a host that defines its profile and offers its labels), then
 * what holds it for now (the profile's cap, every fitting host full, draining or under
 * pressure), then the checks of WHY_CHECKS (budgets and quota holds add theirs there).
 */
import { iso } from "./_rows.ts";
import { appendEvent, type Kernel, resolveTask } from "./_kernel.ts";
import type { Actor } from "./types.ts";
import type { DispatcherRow } from "./driver/core.ts";
import type { TaskRow } from "./_rows.ts";
import type { Status } from "./transitions.ts";
import { budgetReasons } from "./budgets.ts";
import { holdReasons } from "./holds.ts";

/** One reason a task is not running: a stable code, a sentence, and the figures behind it. */
export interface WhyReason {
  /**
   * triage, blocked, review, parents, not_before, backoff, no_assignee, no_dispatcher,
   * no_profile, labels, profile_cap, host_full, draining, pressure; checks of WHY_CHECKS add
   * their own (budget, quota).
   */
  code: string;
  message: string;
  detail: Record<string, unknown>;
}

/** What a live dispatcher offers, as its last pass published it (lib/dispatch/report.ts). */
export interface HostOffer {
  dispatcher: string;
  host: string;
  last_tick: string;
  profiles: Record<string, { max_concurrent: number }>;
  labels: string[];
  max_workers: number | null;
  workers: number | null;
  draining: boolean;
  pressure: { held: boolean; reason: string | null; detail: string | null } | null;
  /** What its last pass held back for a hard budget (lib/store/budgets.ts). */
  budget_held: { kind: string; name: string; reason: string }[];
}

/** The answer of `why`: the task, whether it waits, and every reason it is not running. */
export interface Why {
  task: string;
  title: string;
  status: Status;
  assignee: string | null;
  /** The task waits to run (todo, scheduled, ready, triage, blocked, review). */
  waiting: boolean;
  /** The reasons, in the order the task meets them; empty when nothing holds it. */
  reasons: WhyReason[];
  /** One line: the first reason, or what the task is doing. */
  summary: string;
  /** The live dispatchers and what they offer (the fleet the reasons were judged against). */
  hosts: HostOffer[];
  /** The last `held` event a dispatcher recorded for the task, if any. */
  last_held: { at: string; data: Record<string, unknown> } | null;
}

/** What a check of WHY_CHECKS sees: the task, the fleet, the kernel to read more. */
export interface WhyContext {
  k: Kernel;
  task: TaskRow;
  hosts: HostOffer[];
}

/** A check that adds reasons for a ready task (after the built-in ones). */
export type WhyCheck = (ctx: WhyContext) => Promise<WhyReason[]>;

/**
 * WHY_CHECKS: further reasons a ready task may be held, run after the built-in ones. The
 * extension point for holds judged elsewhere: a budget check (`budget`: its profile or tenant
 * has spent its allowance) and a profile's hold (`quota`: its agent CLI met a rate limit, an
 * exhausted quota or a failed sign-in; lib/store/holds.ts).
 */
export const WHY_CHECKS: WhyCheck[] = [
  (c) => budgetReasons(c.k, c.task, c.hosts.flatMap((h) => h.budget_held)),
  (c) => holdReasons(c.k, c.task),
];

const WAITING: readonly Status[] = ["todo", "scheduled", "ready", "triage", "blocked", "review"];

/** hostOffer reads what a dispatcher published with its last pass (defensively: any shape). */
export function hostOffer(d: DispatcherRow): HostOffer {
  const r = (d.report === null ? {} : JSON.parse(d.report)) as Record<string, unknown>;
  const profiles: HostOffer["profiles"] = {};
  if (typeof r["profiles"] === "object" && r["profiles"] !== null) {
    for (const [name, p] of Object.entries(r["profiles"] as Record<string, unknown>)) {
      const max = (p as { max_concurrent?: unknown } | null)?.max_concurrent;
      profiles[name] = { max_concurrent: typeof max === "number" ? max : 1 };
    }
  }
  const num = (v: unknown) => typeof v === "number" ? v : null;
  const p = r["pressure"] as Record<string, unknown> | null | undefined;
  return {
    dispatcher: d.id,
    host: d.host,
    last_tick: iso(d.last_tick),
    profiles,
    labels: Array.isArray(r["labels"]) ? r["labels"].filter((l) => typeof l === "string") : [],
    max_workers: num(r["max_workers"]),
    workers: num(r["workers"]),
    draining: r["draining"] === true,
    budget_held: Array.isArray(r["budget_held"])
      ? (r["budget_held"] as unknown[]).filter((h): h is HostOffer["budget_held"][number] =>
        typeof h === "object" && h !== null &&
        typeof (h as Record<string, unknown>)["name"] === "string" &&
        typeof (h as Record<string, unknown>)["reason"] === "string"
      )
      : [],
    pressure: typeof p === "object" && p !== null
      ? {
        held: p["held"] === true,
        reason: typeof p["reason"] === "string" ? p["reason"] : null,
        detail: typeof p["detail"] === "string" ? p["detail"] : null,
      }
      : null,
  };
}

/**
 * liveHosts lists the dispatchers working now: not stopped, holding an unexpired lease (a
 * running dispatcher renews it every pass; a standby holds none).
 */
export async function liveHosts(k: Kernel): Promise<HostOffer[]> {
  const now = k.now();
  return (await k.q.dispatchersSince(0))
    .filter((d) => d.stopped_at === null && d.lease_expires !== null && d.lease_expires > now)
    .map(hostOffer);
}

const reason = (code: string, message: string, detail: Record<string, unknown> = {}) => ({
  code,
  message,
  detail,
});

/** personReasons: a task that waits for a person (triage, blocked, review). */
function personReasons(t: TaskRow): WhyReason[] {
  if (t.status === "triage") {
    return [reason("triage", `waits in triage for a person to promote it (kanban promote)`)];
  }
  if (t.status === "blocked") {
    return [
      reason("blocked", `blocked: ${t.blocked_reason ?? "no reason given"} (kanban unblock)`, {
        reason: t.blocked_reason,
        kind: t.block_kind,
      }),
    ];
  }
  if (t.status === "review") return [reason("review", "waits for a review (approve or reject)")];
  return [];
}

/** timeReasons: unfinished parents, a start time to come, a retry backoff. */
async function timeReasons(k: Kernel, t: TaskRow): Promise<WhyReason[]> {
  const out: WhyReason[] = [];
  const parents = await k.q.unfinishedParentsOf([t.id]);
  if (parents.length > 0) {
    const list = parents.map((p) => ({ id: p.id, title: p.title, status: p.status }));
    out.push(
      reason(
        "parents",
        `waits on ${parents.length} parent(s): ${
          list.map((p) => `${p.id} (${p.status})`).join(", ")
        }`,
        { parents: list },
      ),
    );
  }
  const now = k.now();
  if (t.not_before !== null && t.not_before > now) {
    out.push(
      reason("not_before", `starts no sooner than ${iso(t.not_before)}`, {
        until: iso(t.not_before),
      }),
    );
  }
  if (t.retry_after !== null && t.retry_after > now) {
    out.push(
      reason(
        "backoff",
        `retries after ${iso(t.retry_after)} (${t.consecutive_failures} failed attempt(s))`,
        {
          until: iso(t.retry_after),
          failures: t.consecutive_failures,
          last_error: t.last_error,
        },
      ),
    );
  }
  return out;
}

/**
 * fleetReasons: whether any live host can run the task at all (`fits`: the hosts that define
 * its profile and offer its labels), and, for a ready task, what holds it there now.
 */
async function fleetReasons(
  k: Kernel,
  t: TaskRow,
  hosts: HostOffer[],
  ready: boolean,
): Promise<WhyReason[]> {
  const profile = t.assignee;
  if (profile === null) {
    return [reason("no_assignee", "has no assignee, so no profile runs it (kanban assign)")];
  }
  if (hosts.length === 0) {
    return [
      reason("no_dispatcher", "no dispatcher is running for this board (kanban dispatch)"),
    ];
  }
  const defining = hosts.filter((h) => profile in h.profiles);
  if (defining.length === 0) {
    return [
      reason("no_profile", `no live host defines profile "${profile}"`, {
        profile,
        hosts: hosts.map((h) => h.host),
      }),
    ];
  }
  const needs: string[] = JSON.parse(t.needs ?? "[]");
  const fits = defining.filter((h) => needs.every((l) => h.labels.includes(l)));
  if (fits.length === 0) {
    return [
      reason(
        "labels",
        `needs label(s) ${needs.join(", ")} that no live host defining "${profile}" offers`,
        { needs, offered: defining.map((h) => ({ host: h.host, labels: h.labels })) },
      ),
    ];
  }
  if (!ready) return [];
  const out: WhyReason[] = [];
  const running = (await k.q.runsOpen()).filter((r) => r.profile === profile).length;
  const max = Math.max(...fits.map((h) => h.profiles[profile]!.max_concurrent));
  if (running >= max) {
    out.push(
      reason(
        "profile_cap",
        `profile "${profile}" is at its cap: ${running} running of max_concurrent ${max}`,
        { profile, running, max },
      ),
    );
  }
  const full = fits.filter((h) =>
    h.max_workers !== null && h.workers !== null && h.workers >= h.max_workers
  );
  const draining = fits.filter((h) => h.draining);
  const pressed = fits.filter((h) => h.pressure?.held === true);
  const usable = fits.filter((h) =>
    !full.includes(h) && !draining.includes(h) && !pressed.includes(h)
  );
  if (usable.length > 0) return out;
  if (pressed.length > 0) {
    out.push(
      reason(
        "pressure",
        `host(s) under memory or load pressure hold new workers: ${
          pressed.map((h) => `${h.host} (${h.pressure!.detail ?? h.pressure!.reason})`).join("; ")
        }`,
        {
          hosts: pressed.map((h) => ({
            host: h.host,
            reason: h.pressure!.reason,
            detail: h.pressure!.detail,
          })),
        },
      ),
    );
  }
  if (full.length > 0) {
    out.push(
      reason(
        "host_full",
        `host(s) at max_workers: ${
          full.map((h) => `${h.host} ${h.workers}/${h.max_workers}`).join(", ")
        }`,
        { hosts: full.map((h) => ({ host: h.host, workers: h.workers, max: h.max_workers })) },
      ),
    );
  }
  if (draining.length > 0) {
    out.push(
      reason("draining", `host(s) draining: ${draining.map((h) => h.host).join(", ")}`, {
        hosts: draining.map((h) => h.host),
      }),
    );
  }
  return out;
}

/** summaryOf is the one line of a `why`. */
function summaryOf(t: TaskRow, reasons: WhyReason[], waiting: boolean): string {
  if (reasons.length > 0) return reasons[0]!.message;
  if (t.status === "running") return "running now";
  if (!waiting) return `${t.status}: not waiting to run`;
  return "nothing holds it: a dispatcher should claim it at its next pass";
}

/** why explains why task `ref` is not running (lib/store/why.ts, module comment). */
export async function why(k: Kernel, ref: string): Promise<Why> {
  const t = await resolveTask(k, ref);
  const waiting = WAITING.includes(t.status);
  const hosts = await liveHosts(k);
  const reasons: WhyReason[] = [];
  if (waiting) {
    reasons.push(...personReasons(t));
    const derived = t.status === "todo" || t.status === "scheduled" || t.status === "ready";
    if (derived) {
      reasons.push(...await timeReasons(k, t));
      // the dynamic holds only count for a task nothing else keeps waiting
      const ready = t.status === "ready" && reasons.length === 0;
      reasons.push(...await fleetReasons(k, t, hosts, ready));
      if (ready) {
        for (const check of WHY_CHECKS) reasons.push(...await check({ k, task: t, hosts }));
      }
    }
  }
  const [held] = await k.q.lastEventsOf(t.id, ["held"], 1);
  return {
    task: t.id,
    title: t.title,
    status: t.status,
    assignee: t.assignee,
    waiting,
    reasons,
    summary: summaryOf(t, reasons, waiting),
    hosts,
    last_held: held ? { at: iso(held.at), data: JSON.parse(held.data) } : null,
  };
}

/** What a dispatcher records when a pass leaves a ready task unclaimed for a new reason. */
export interface HeldInput {
  /** A WhyReason code (profile_cap, host_full, pressure, no_profile, labels, backoff, ...). */
  reason: string;
  /** The host of the dispatcher that holds it. */
  host: string;
  detail?: string | undefined;
}

/**
 * recordHeld appends one `held` event to a task (the dispatcher calls it only when the reason
 * changed since the one it last recorded: lib/dispatch/services/hold.ts). A task gone or no
 * longer ready gets none; returns whether it was recorded.
 */
export async function recordHeld(
  k: Kernel,
  taskId: string,
  input: HeldInput,
  actor: Actor,
): Promise<boolean> {
  const t = await k.q.taskGet(taskId);
  if (!t || t.status !== "ready") return false;
  appendEvent(k, t.id, null, "held", actor, {
    reason: input.reason,
    host: input.host,
    ...(input.detail !== undefined ? { detail: input.detail } : {}),
  });
  return true;
}

/** lastHeld is the data of the last `held` event of a task (null: none). */
export async function lastHeld(k: Kernel, taskId: string): Promise<Record<string, unknown> | null> {
  const [held] = await k.q.lastEventsOf(taskId, ["held"], 1);
  return held ? JSON.parse(held.data) : null;
}
