/**
 * Notification subscriptions: a webhook or a command that receives the board's events,
 * filtered by task, tenant, assignee or event kinds. Each subscription keeps a cursor into
 * the event stream (the id of the last event it is done with), so delivery is in order and
 * at least once. The dispatcher does the delivering (lib/dispatch/notify.ts); this module
 * only records what was delivered, what failed, and when a task subscription ends.
 */
import { z } from "zod";
import { iso, toEvent, toTaskSummary } from "./_rows.ts";
import { appendEvent, EVENT_KIND, type Kernel, resolveTask } from "./_kernel.ts";
import type { SubscriptionKind, SubscriptionRow } from "./driver/admin.ts";
import { ConflictError, NotFoundError } from "./errors.ts";
import { name, noNul, parse } from "./input.ts";
import type { Actor, TaskEvent, TaskSummary } from "./types.ts";

export type { SubscriptionKind };

/**
 * SubscriptionState: `active` delivers normally, `retrying` has failed and waits for its
 * next attempt, `disabled` gave up after too many consecutive failures, `ended` is a task
 * subscription whose task was done or archived (and that event delivered).
 */
export type SubscriptionState = "active" | "retrying" | "disabled" | "ended";

/** Subscription is the public shape (`notify list --json`); the secret never leaves the store. */
export interface Subscription {
  id: number;
  kind: SubscriptionKind;
  /** The webhook URL, or the shell command. */
  target: string;
  has_secret: boolean;
  task_id: string | null;
  tenant: string | null;
  assignee: string | null;
  /** Event kinds delivered; null means every kind. */
  kinds: string[] | null;
  /** Id of the last event this subscription is done with. */
  cursor: number;
  state: SubscriptionState;
  /** Consecutive failed attempts (reset by a success). */
  failures: number;
  next_attempt_at: string | null;
  last_error: string | null;
  /** Events delivered so far. */
  delivered: number;
  disabled_at: string | null;
  ended_at: string | null;
  created_by: string;
  created_at: string;
}

/** DueSubscription is what the deliverer needs: the subscription and its HMAC secret. */
export interface DueSubscription extends Subscription {
  secret: string | null;
}

/** Notification is one delivery: the event and the current summary of its task. */
export interface Notification {
  event: TaskEvent;
  task: TaskSummary | null;
}

export interface Batch {
  /** Matching events after the cursor, oldest first. */
  notifications: Notification[];
  /**
   * The cursor to store once every notification of the batch is delivered: it also moves
   * past the events the filters skip, so the next look starts where this one ended.
   */
  through: number;
}

function stateOf(r: SubscriptionRow): SubscriptionState {
  if (r.ended_at !== null) return "ended";
  if (r.disabled_at !== null) return "disabled";
  return r.failures > 0 ? "retrying" : "active";
}

function toSubscription(r: SubscriptionRow): Subscription {
  return {
    id: r.id,
    kind: r.kind,
    target: r.target,
    has_secret: r.secret !== null,
    task_id: r.task_id,
    tenant: r.tenant,
    assignee: r.assignee,
    kinds: r.kinds === null ? null : JSON.parse(r.kinds) as string[],
    cursor: r.cursor,
    state: stateOf(r),
    failures: r.failures,
    next_attempt_at: iso(r.next_attempt_at),
    last_error: r.last_error,
    delivered: r.delivered,
    disabled_at: iso(r.disabled_at),
    ended_at: iso(r.ended_at),
    created_by: r.created_by,
    created_at: iso(r.created_at),
  };
}

/**
 * KNOWN_EVENT_KINDS lists the kinds the board writes today. Filters are not limited to it
 * (new kinds may come), but a surface can warn about a kind that is not here: a typo like
 * `complete` for `completed` would otherwise match nothing, silently.
 */
export const KNOWN_EVENT_KINDS: readonly string[] = [
  ...new Set([
    ...Object.values(EVENT_KIND),
    "edited",
    "assigned",
    "linked",
    "unlinked",
    "heartbeat",
    "spawned",
    "exited",
    "commented",
    "dispatcher_takeover",
    "clock_step",
    "dispatch_requested",
    "subscription_disabled",
    "routine_fired",
    "budget_added",
    "budget_removed",
    "budget_exceeded",
    "profile_held",
    "profile_released",
    "gate_pending",
    "gate_passed",
  ]),
];

const MAX_TARGET_CHARS = 2_000;
const EVENT_KIND_PATTERN = /^[a-z][a-z0-9_:.-]{0,63}$/;

/** webhookProblem explains why `s` is not an http(s) URL, or returns null when it is one. */
function webhookProblem(s: string): string | null {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return `webhook URL "${s}" is not a valid URL`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `webhook URL "${s}" must start with http:// or https://`;
  }
  return null;
}

const filters = {
  task: z.string().optional(),
  tenant: name("tenant").optional(),
  assignee: name("assignee").optional(),
  kinds: z.array(
    z.string().trim().regex(
      EVENT_KIND_PATTERN,
      "event kind must be lowercase letters, digits, '_', ':', '.' or '-' (like completed)",
    ),
  ).max(50, "more than 50 event kinds").optional(),
};

const target = z.string().max(MAX_TARGET_CHARS, `target is longer than ${MAX_TARGET_CHARS}`)
  .refine(noNul, "target contains a NUL character");

export const SubscriptionInput = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("webhook"),
    target: target.transform((s) => s.trim()),
    secret: z.string().min(1, "secret is empty").max(1_000, "secret is longer than 1000 characters")
      .refine(noNul, "secret contains a NUL character").optional(),
    ...filters,
  }),
  z.object({ kind: z.literal("command"), target, ...filters }),
]).superRefine((v, ctx) => {
  // Checked on the whole input so that the message reads as is, without a field path.
  const problem = v.kind === "webhook"
    ? webhookProblem(v.target)
    : v.target.trim() === ""
    ? "command is empty"
    : null;
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
export type SubscriptionInput = z.input<typeof SubscriptionInput>;

async function loadSubscription(k: Kernel, id: number): Promise<SubscriptionRow> {
  const row = await k.q.subscriptionGet(id);
  if (!row) throw new NotFoundError(`No subscription ${id}`);
  return row;
}

/**
 * addSubscription validates and stores a subscription. Its cursor starts at the current
 * head of the event stream: it receives what happens from now on, never the history.
 */
export async function addSubscription(
  k: Kernel,
  raw: SubscriptionInput,
  actor: Actor,
): Promise<Subscription> {
  const input = parse(SubscriptionInput, raw, "subscription");
  const task = input.task === undefined ? null : await resolveTask(k, input.task);
  if (task && (task.status === "done" || task.status === "archived")) {
    // Its subscription would end before anything happened: say so instead.
    throw new ConflictError(
      "task_finished",
      `Cannot subscribe to task "${task.id}": it is ${task.status}, and a task subscription ends when its task is done or archived`,
    );
  }
  const kinds = input.kinds === undefined || input.kinds.length === 0
    ? null
    : JSON.stringify([...new Set(input.kinds)]);
  const row = await k.q.subscriptionInsert({
    kind: input.kind,
    target: input.target,
    secret: input.kind === "webhook" ? input.secret ?? null : null,
    task_id: task?.id ?? null,
    tenant: input.tenant ?? null,
    assignee: input.assignee ?? null,
    kinds,
    cursor: await k.q.eventHead(),
    created_by: actor.name,
    created_at: k.now(),
  });
  return toSubscription(row);
}

/** listSubscriptions returns every subscription, oldest first. */
export async function listSubscriptions(k: Kernel): Promise<Subscription[]> {
  return (await k.q.subscriptionsAll()).map(toSubscription);
}

/** removeSubscription deletes subscription `id` and returns it; NotFoundError if none. */
export async function removeSubscription(k: Kernel, id: number): Promise<Subscription> {
  const row = await loadSubscription(k, id);
  await k.q.subscriptionDelete(id);
  return toSubscription(row);
}

/**
 * enableSubscription re-enables a disabled (or retrying) subscription at once, keeping its
 * cursor: the events it missed are delivered next. An ended one cannot come back.
 */
export async function enableSubscription(k: Kernel, id: number): Promise<Subscription> {
  const row = await loadSubscription(k, id);
  if (row.ended_at !== null) {
    throw new ConflictError(
      "subscription_ended",
      `Cannot enable subscription ${id}: it ended when task "${row.task_id}" was finished`,
    );
  }
  await k.q.subscriptionEnable(id);
  return toSubscription(await loadSubscription(k, id));
}

/**
 * dueSubscriptions returns the enabled, not ended subscriptions whose retry time has come
 * and that have events after their cursor: the work of one delivery round. One indexed
 * query, so a round with nothing to do costs almost nothing.
 */
export async function dueSubscriptions(k: Kernel, now: number): Promise<DueSubscription[]> {
  return (await k.q.subscriptionsDue(now)).map((r) => ({ ...toSubscription(r), secret: r.secret }));
}

/**
 * nextBatch returns up to `limit` events after the subscription's cursor that match its
 * filters (task, the task's tenant and assignee as they are now, kinds), each with its task.
 * Null when the subscription does not exist.
 */
export async function nextBatch(k: Kernel, subId: number, limit = 100): Promise<Batch | null> {
  const sub = await k.q.subscriptionGet(subId);
  if (!sub) return null;
  const top = await k.q.eventHead();
  const rows = await k.q.subscriptionEvents({
    after: sub.cursor,
    through: top,
    task_id: sub.task_id,
    tenant: sub.tenant,
    assignee: sub.assignee,
    kinds: sub.kinds === null ? null : JSON.parse(sub.kinds) as string[],
  }, limit);
  const tasks = new Map<string, TaskSummary>();
  const taskOf = async (id: string | null): Promise<TaskSummary | null> => {
    if (id === null) return null;
    let t = tasks.get(id);
    if (!t) {
      const row = await k.q.taskGet(id);
      if (!row) return null;
      t = toTaskSummary(row);
      tasks.set(id, t);
    }
    return t;
  };
  const notifications: Notification[] = [];
  for (const r of rows) notifications.push({ event: toEvent(r), task: await taskOf(r.task_id) });
  // A short batch saw every event up to the head (inside this one read snapshot).
  const through = rows.length < limit ? top : rows.at(-1)!.id;
  return { notifications, through: Math.max(through, sub.cursor) };
}

/**
 * endIfFinished ends a task subscription once its cursor has passed everything its task did
 * and the task is done or archived. Blocked, failed or crashed tasks may come back, so they
 * never end one; nor does a done task that was reopened after (its later events are pending).
 */
async function endIfFinished(k: Kernel, sub: SubscriptionRow): Promise<void> {
  if (sub.task_id === null || sub.ended_at !== null) return;
  const task = await k.q.taskGet(sub.task_id);
  if (!task || (task.status !== "done" && task.status !== "archived")) return;
  if (await k.q.taskHasEventsAfter(sub.task_id, sub.cursor)) return;
  await k.q.subscriptionEnd(sub.id, k.now());
}

/**
 * markDelivered moves the cursor forward to `through` (never back), adds `count` to the
 * delivered total, clears the failure count, and ends a finished task subscription.
 * Returns null when the subscription was removed meanwhile.
 */
export async function markDelivered(
  k: Kernel,
  subId: number,
  through: number,
  count = 1,
): Promise<Subscription | null> {
  if (!await k.q.subscriptionDelivered(subId, through, count)) return null;
  await endIfFinished(k, await loadSubscription(k, subId));
  return toSubscription(await loadSubscription(k, subId));
}

/**
 * markFailed records a failed attempt: one more consecutive failure, the error, and when to
 * try again. With `disable` the subscription stops (until enabled again) and a
 * `subscription_disabled` event says so, for `watch` and the other subscriptions.
 * Returns null when the subscription was removed meanwhile.
 */
export async function markFailed(
  k: Kernel,
  subId: number,
  error: string,
  nextAttemptAt: number | null,
  disable: boolean,
): Promise<Subscription | null> {
  const message = error.length > 2_000 ? `${error.slice(0, 1_999)}…` : error;
  const failed = await k.q.subscriptionFailed(subId, {
    error: message,
    next_attempt_at: disable ? null : nextAttemptAt,
    disable,
    at: k.now(),
  });
  if (!failed) return null;
  const sub = await loadSubscription(k, subId);
  if (disable) {
    appendEvent(k, null, null, "subscription_disabled", { name: "kanban" }, {
      subscription: sub.id,
      kind: sub.kind,
      failures: sub.failures,
      error: message,
    });
  }
  return toSubscription(sub);
}

/** eventHead is the id of the newest event (0 on an empty board): "from now on" for a cursor. */
export function eventHead(k: Kernel): Promise<number> {
  return k.q.eventHead();
}
