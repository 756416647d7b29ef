/// <reference lib="dom" />
/**
 * Live updates: one EventSource on /api/v1/events. Each board event schedules a board fetch
 * (coalesced) and tells the open drawer when its task changed; the browser reconnects by
 * itself and resumes after the last event id it saw. Dispatcher health is polled.
 */
import { signal } from "@preact/signals";
import { api, type Health, type TaskEvent } from "./api.ts";
import { message, refresh } from "./state.ts";

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
  "subscription_disabled",
]);
/** Events that change nothing the health bar shows (the 5 s poll covers the rest of time). */
const HEALTH_UNCHANGED = new Set(["heartbeat", "commented"]);
const HEALTH_MS = 5000;
const HEALTH_AFTER_EVENT_MS = 1000;

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
  source.onopen = () => {
    connection.value = "connected";
    // Whatever happened while we were away is in the board we fetch now.
    void refresh();
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
  };
  void pollHealth();
  setInterval(() => void pollHealth(), HEALTH_MS);
}

async function pollHealth(): Promise<void> {
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
