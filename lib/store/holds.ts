/**
 * Profile holds: a profile whose agent CLI hit its account's limits waits, not its tasks.
 *
 * - A rate limit or an exhausted quota (read from the CLI's output by lib/dispatch/quota.ts)
 *   holds the profile until the reset time the CLI reported, or, when it reported none, for a
 *   backoff that doubles with each hold in a row (one minute, at most an hour). No dispatcher
 *   on any host claims the profile's tasks meanwhile; the run that met the limit ends as
 *   `transient`, which no failure count sees.
 * - An authentication failure holds the profile until a person releases it (`kanban profile
 *   release NAME`, once its credentials are fixed): retrying cannot help, so no retries are
 *   burnt on it. The task whose run met it is blocked with the reason (authBlockReason), and
 *   the release returns those tasks to the queue.
 * - A hold is never shortened by a later, nearer reset (another host's worker met the same
 *   limit), and an authentication hold is not replaced by a rate limit. A `profile_held` event
 *   records each new hold or change (on the task whose run met it); `profile_released` a
 *   person's release. Holds are the board's, seen by every host.
 * - The count of holds in a row is cleared when a run of the profile completes after its hold
 *   ended (clearHold, by the dispatcher).
 */
import { z } from "zod";
import { appendEvent, type Kernel, refuseWorker } from "./_kernel.ts";
import { iso } from "./_rows.ts";
import type { HoldRow } from "./driver/holds.ts";
import { NotFoundError } from "./errors.ts";
import { parse } from "./input.ts";
import { unblock } from "./lifecycle.ts";
import type { Actor } from "./types.ts";

/** What a hold is for. */
export const HOLD_KINDS = ["rate_limit", "quota", "auth"] as const;
export type HoldKind = (typeof HOLD_KINDS)[number];

/** The first hold without a reported reset time, and the most such a hold waits. */
export const HOLD_BACKOFF = { first_ms: 60_000, max_ms: 3_600_000 } as const;

/** The furthest reset time a hold takes (a weekly limit; a misread date goes no further). */
export const HOLD_MAX_MS = 8 * 86_400_000;

/** The longest reason a hold keeps, in characters. */
const REASON_MAX = 500;

/**
 * holdBackoffMs is how long a profile is held when its CLI reported no reset time: one minute,
 * doubling for each hold in a row (`consecutive` counts from 1), at most an hour.
 */
export function holdBackoffMs(consecutive: number): number {
  const n = Math.max(1, Math.floor(consecutive));
  return Math.min(HOLD_BACKOFF.max_ms, HOLD_BACKOFF.first_ms * 2 ** Math.min(n - 1, 20));
}

/** A profile's hold as the surfaces show it. */
export interface ProfileHold {
  profile: string;
  kind: HoldKind;
  /** When the hold ends (ISO); null: until a person releases it (auth). */
  until: string | null;
  /** Whether it holds now (false: past its time, kept only to count holds in a row). */
  active: boolean;
  /** What the CLI printed that showed it. */
  reason: string;
  /** The task and run that met it. */
  task: string | null;
  run: number | null;
  /** Holds in a row (the backoff doubles with each). */
  holds: number;
  host: string;
  since: string;
}

export interface HoldInput {
  profile: string;
  kind: HoldKind;
  /** When the CLI said the limit resets (ms since the epoch); absent: a backoff. */
  reset_at?: number | null | undefined;
  reason: string;
  task?: string | null | undefined;
  run?: number | null | undefined;
  /** The dispatcher's host that saw it. */
  host: string;
}

const HoldInputSchema = z.object({
  profile: z.string().min(1, "profile is empty").max(64, "profile is longer than 64"),
  kind: z.enum(HOLD_KINDS),
  reset_at: z.number().int().nullable().optional(),
  reason: z.string(),
  task: z.string().nullable().optional(),
  run: z.number().int().nullable().optional(),
  host: z.string().min(1, "host is empty"),
});

/** isActive tells whether a stored hold holds at `now`. */
function isActive(h: HoldRow, now: number): boolean {
  return h.until_at === null || h.until_at > now;
}

function toHold(h: HoldRow, now: number): ProfileHold {
  return {
    profile: h.profile,
    kind: h.kind,
    until: h.until_at === null ? null : iso(h.until_at),
    active: isActive(h, now),
    reason: h.reason,
    task: h.task_id,
    run: h.run_id,
    holds: h.holds,
    host: h.host,
    since: iso(h.created_at),
  };
}

/**
 * authBlockReason is the reason a task is blocked with when its profile's CLI failed to sign
 * in: the release of the hold finds the tasks to return by it.
 */
export function authBlockReason(profile: string): string {
  return `profile "${profile}" could not sign in to its model provider; fix its credentials, ` +
    `then run: kanban profile release ${profile}`;
}

/** holdProfile holds a profile (or keeps an existing, longer hold) and returns the hold. */
export async function holdProfile(
  k: Kernel,
  raw: HoldInput,
  actor: Actor,
): Promise<ProfileHold> {
  refuseWorker(actor, "hold a profile; a person or a dispatcher does");
  const input = parse(HoldInputSchema, raw, "hold");
  const now = k.now();
  const old = await k.q.holdGet(input.profile);
  const oldActive = old !== undefined && isActive(old, now);
  if (old?.kind === "auth" && input.kind !== "auth") return toHold(old, now);
  const holds = old === undefined ? 1 : oldActive ? old.holds : old.holds + 1;
  let until: number | null = null;
  if (input.kind !== "auth") {
    const reset = input.reset_at ?? null;
    until = Math.min(
      now + HOLD_MAX_MS,
      reset !== null && reset > now ? reset : now + holdBackoffMs(holds),
    );
    if (oldActive && old.until_at !== null && old.until_at > until) until = old.until_at;
  }
  const reason = input.reason.trim().replace(/\s+/g, " ").slice(0, REASON_MAX) ||
    `${input.kind} (no message)`;
  const row: HoldRow = {
    profile: input.profile,
    kind: input.kind,
    until_at: until,
    reason,
    task_id: input.task ?? null,
    run_id: input.run ?? null,
    holds,
    host: input.host,
    created_at: oldActive && old.kind === input.kind ? old.created_at : now,
  };
  await k.q.holdPut(row);
  if (!oldActive || old.kind !== row.kind || old.until_at !== row.until_at) {
    appendEvent(k, row.task_id, row.run_id, "profile_held", actor, {
      profile: row.profile,
      kind: row.kind,
      until: row.until_at === null ? null : iso(row.until_at),
      reason: row.reason,
    });
  }
  return toHold(row, now);
}

/** profileHolds lists every profile's hold (those past their time too, marked inactive). */
export async function profileHolds(k: Kernel): Promise<ProfileHold[]> {
  const now = k.now();
  return (await k.q.holdsAll()).map((h) => toHold(h, now));
}

/**
 * releaseHold ends a profile's hold now (a person fixed its credentials, or does not want to
 * wait for the reset) and returns to the queue the tasks an authentication hold blocked.
 */
export async function releaseHold(
  k: Kernel,
  profile: string,
  actor: Actor,
): Promise<{ hold: ProfileHold; unblocked: string[] }> {
  refuseWorker(actor, "release a profile's hold; a person or a dispatcher does");
  const old = await k.q.holdGet(profile);
  if (old === undefined) throw new NotFoundError(`Profile "${profile}" is not held`);
  await k.q.holdDelete(profile);
  const unblocked: string[] = [];
  if (old.kind === "auth") {
    const reason = authBlockReason(profile);
    for (const t of await k.q.taskList({ statuses: ["blocked"], assignee: profile })) {
      if (t.blocked_reason !== reason) continue;
      await unblock(k, t.id, actor);
      unblocked.push(t.id);
    }
  }
  appendEvent(k, null, null, "profile_released", actor, {
    profile,
    kind: old.kind,
    ...(unblocked.length > 0 ? { unblocked } : {}),
  });
  return { hold: toHold(old, k.now()), unblocked };
}

/**
 * clearHold forgets a profile's hold that has ended (a run of the profile completed after it),
 * so the next hold's backoff starts over; true when there was one to forget. An active hold,
 * or an authentication hold, stays.
 */
export async function clearHold(k: Kernel, profile: string, actor: Actor): Promise<boolean> {
  refuseWorker(actor, "clear a profile's hold; a person or a dispatcher does");
  const old = await k.q.holdGet(profile);
  if (old === undefined || old.kind === "auth" || isActive(old, k.now())) return false;
  return await k.q.holdDelete(profile);
}

/** holdMessage says what a hold keeps waiting, as `why` and the surfaces read it. */
export function holdMessage(h: ProfileHold): string {
  const what = h.kind === "auth"
    ? "could not sign in"
    : h.kind === "quota"
    ? "has exhausted its quota"
    : "is rate limited";
  const until = h.until === null
    ? `held until a person runs: kanban profile release ${h.profile}`
    : `held until ${h.until}`;
  return `profile "${h.profile}" ${what} (${h.reason}); ${until}`;
}

/** holdReasons is the `why` check of holds: the task's profile is held (reason `quota`). */
export async function holdReasons(
  k: Kernel,
  task: { assignee: string | null },
): Promise<{ code: string; message: string; detail: Record<string, unknown> }[]> {
  if (task.assignee === null) return [];
  const row = await k.q.holdGet(task.assignee);
  if (row === undefined || !isActive(row, k.now())) return [];
  const h = toHold(row, k.now());
  return [{
    code: "quota",
    message: holdMessage(h),
    detail: { profile: h.profile, kind: h.kind, until: h.until, reason: h.reason },
  }];
}
