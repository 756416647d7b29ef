/// <reference lib="dom" />
/**
 * Live updates: one EventSource on /api/v1/events. Each board event schedules a board fetch
 * (coalesced) and tells the open drawer when its task changed; the browser reconnects by
 * itself and resumes after the last event id it saw. Dispatcher health is polled; the usage
 * summary is read again when runs end.
 */
import { effect, signal } from "@preact/signals";
import { api, type Health, query, type TaskEvent, type UsageStats } from "./api.ts";
import { filters, message, refresh } from "./state.ts";

/** "closed": the server refused the stream (signed out, say): the browser will not retry. */
export const connection = signal<"connected" | "reconnecting" | "closed">("reconnecting");
export const health = signal<Health | null>(null);
export const healthError = signal<string | null>(null);
/** Bumped when an event touches a task: the drawer refetches when its task is named. */
export const touched = signal<{ task: string | null }>({ task: null });

const COALESCE_MS = 60;
/**
 * Events that change nothing a card shows: they reach the open drawer and the health bar but
 * fetch no board (a fleet's heartbeats would otherwise refetch it every few seconds).
 */
const CARDS_UNCHANGED = new Set([
  "heartbeat",
  "commented",
  "spawned",
  "exited",
  "dispatch_requested",
  "dispatcher_takeover",
  "clock_step",
  "subscription_disabled",
]);
/** Events that change nothing the health bar shows (the 5 s poll covers the rest of time). */
const HEALTH_UNCHANGED = new Set(["heartbeat", "commented"]);
const HEALTH_MS = 5000;
const HEALTH_AFTER_EVENT_MS = 1000;

/** The usage summary's window (a `since` of GET /api/v1/usage). */
export const USAGE_WINDOW = "24h";
/** The usage of the last 24 h, for the tenant filter it was read with ("" for the board). */
export const usage = signal<{ tenant: string; stats: UsageStats } | null>(null);
export const usageError = signal<string | null>(null);
/**
 * Events that end a run, after which its usage is known: a worker's (or person's) report, a
 * supervisor's ending, and `exited`, which carries usage read from the CLI's output.
 */
const RUN_ENDS = new Set(["completed", "blocked", "failed", "cancelled", "archived", "exited"]);
/**
 * Runs ending within this make one read: the sums scan the runs of the window (about 100 ms
 * for 15,000 runs), and a busy fleet ends runs every few seconds.
 */
const USAGE_AFTER_EVENT_MS = 3000;
/** Runs age out of the window with no event to say so: read again now and then. */
const USAGE_MS = 5 * 60_000;

/** coalesce makes a trigger that runs `fn` once, `ms` after the first call since the last run. */
function coalesce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return () => {
    timer ??= setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}

export function startLive(): void {
  const source = new EventSource("/api/v1/events");
  const refreshSoon = coalesce(() => void refresh(), COALESCE_MS);
  // Claims, spawns and exits change the health bar: look at most once a second.
  const healthSoon = coalesce(() => void pollHealth(), HEALTH_AFTER_EVENT_MS);
  const usageSoon = coalesce(() => void loadUsage(), USAGE_AFTER_EVENT_MS);
  let opened = false;
  source.onopen = () => {
    connection.value = "connected";
    // Whatever happened while we were away is in the board we fetch now.
    void refresh();
    if (opened) usageSoon(); // the first read is the tenant effect's, below
    opened = true;
  };
  source.onerror = () => {
    connection.value = source.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
  };
  source.onmessage = (m) => {
    let event: TaskEvent;
    try {
      event = JSON.parse(m.data) as TaskEvent;
    } catch {
      return;
    }
    touched.value = { task: event.task_id };
    if (!HEALTH_UNCHANGED.has(event.kind)) healthSoon();
    if (!CARDS_UNCHANGED.has(event.kind)) refreshSoon();
    if (event.run_id !== null && RUN_ENDS.has(event.kind)) usageSoon();
  };
  void pollHealth();
  setInterval(() => void pollHealth(), HEALTH_MS);
  // The summary follows the tenant filter: read it now, and again when the tenant changes.
  let tenant: string | null = null;
  effect(() => {
    const t = filters.value.tenant;
    if (t === tenant) return;
    tenant = t;
    void loadUsage();
  });
  setInterval(() => void loadUsage(), USAGE_MS);
}

let usageSeq = 0;

/** loadUsage reads the summary's usage; only the newest request's answer is kept. */
export async function loadUsage(): Promise<void> {
  const n = ++usageSeq;
  const tenant = filters.value.tenant;
  try {
    const stats = await api.usage(query({ since: USAGE_WINDOW, tenant }));
    if (n !== usageSeq) return;
    usage.value = { tenant, stats };
    usageError.value = null;
  } catch (err) {
    if (n === usageSeq) usageError.value = message(err);
  }
}

export async function pollHealth(): Promise<void> {
  try {
    health.value = await api.status();
    healthError.value = null;
  } catch (err) {
    healthError.value = message(err);
  }
}

/** healthState: "down" when no dispatcher holds the board, "warn" with warnings. */
export function healthState(h: Health | null): "ok" | "warn" | "down" {
  if (h === null) return "warn";
  if (!h.dispatchers.some((d) => d.holds_board)) return "down";
  return h.warnings.length > 0 ? "warn" : "ok";
}
