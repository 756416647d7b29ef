/**
 * Notification delivery: one round of `deliverNotifications()` sends every due subscription
 * its pending events, in order, to a webhook (POST JSON, optionally HMAC-signed) or a
 * command (`sh -c`, the JSON on stdin). Delivery is at least once: the cursor moves only
 * after a success, and a failure stops that subscription's round so nothing overtakes it.
 * Failures back off exponentially; after `maxFailures` in a row the subscription is disabled.
 */
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import process from "node:process";
import type { DueSubscription, Notification, Store } from "../store/mod.ts";
import { VERSION } from "../version.ts";
import { WORKER_VARS } from "../worker_env.ts";

export interface NotifyOptions {
  /** Clock for retry times; pass the store's clock. */
  now?: () => number;
  /** First retry delay (ms); each further failure doubles it. Default 5 s. */
  baseMs?: number;
  /** Longest retry delay (ms). Default 10 min. */
  maxMs?: number;
  /** Consecutive failures after which a subscription is disabled. Default 10. */
  maxFailures?: number;
  /** How long a webhook may take to answer (ms). Default 10 s. */
  webhookTimeoutMs?: number;
  /** How long a command may run before it is killed (ms). Default 30 s. */
  commandTimeoutMs?: number;
  /** Events read per batch. Default 100. */
  batchSize?: number;
  /** Events sent to one subscription in one round, at most. Default 500. */
  maxPerRound?: number;
  /** Subscriptions delivered to at the same time. Default 4. */
  concurrency?: number;
  /** Stops the round after the deliveries in flight. */
  signal?: AbortSignal;
}

export interface NotifyReport {
  /** Subscriptions this round delivered to (or tried to). */
  subscriptions: number;
  /** Events delivered. */
  delivered: number;
  /** Failed attempts (each stops its subscription's round). */
  failed: number;
  /** Subscriptions disabled by this round. */
  disabled: number;
  /** Task subscriptions that ended (their task done or archived, and that delivered). */
  ended: number;
}

export const NOTIFY_DEFAULTS = {
  baseMs: 5_000,
  maxMs: 600_000,
  maxFailures: 10,
  webhookTimeoutMs: 10_000,
  commandTimeoutMs: 30_000,
  batchSize: 100,
  maxPerRound: 500,
  concurrency: 4,
} as const;

type Settings = Required<Omit<NotifyOptions, "signal">> & { signal: AbortSignal | undefined };

/** backoffMs is the wait after the `failures`-th consecutive failure: base * 2^(n-1), capped. */
export function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(failures - 1, 0), maxMs);
}

/** signature is the `x-kanban-signature` value for `body`: `sha256=` + hex HMAC-SHA256. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** payload is the JSON every delivery carries: the event and its task (as it is now). */
export function payload(n: Notification): string {
  return JSON.stringify({ event: n.event, task: n.task });
}

type Outcome = { ok: true } | { ok: false; error: string };

// Subscriptions being delivered by this process, per store: a round started while another is
// still running skips them, so the dispatcher may start a round on every pass without waiting.
const inFlight = new WeakMap<Store, Set<number>>();

/**
 * deliverNotifications does one delivery round and reports what it did. A round with nothing
 * due is one cheap query. Safe to call often, and while an earlier round is still running.
 */
export async function deliverNotifications(
  store: Store,
  options: NotifyOptions = {},
): Promise<NotifyReport> {
  const s: Settings = {
    ...NOTIFY_DEFAULTS,
    now: Date.now,
    ...definedOnly(options),
    signal: options.signal,
  };
  const report: NotifyReport = { subscriptions: 0, delivered: 0, failed: 0, disabled: 0, ended: 0 };
  let busy = inFlight.get(store);
  if (!busy) inFlight.set(store, busy = new Set());
  const mine = busy;
  const due = (await store.dueSubscriptions(s.now())).filter((sub) => !mine.has(sub.id));
  if (due.length === 0) return report;
  for (const sub of due) mine.add(sub.id);
  report.subscriptions = due.length;
  try {
    const queue = [...due];
    const lane = async () => {
      for (let sub = queue.shift(); sub; sub = queue.shift()) {
        if (s.signal?.aborted) return;
        try {
          await deliverSubscription(store, sub, s, report);
        } finally {
          mine.delete(sub.id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, s.concurrency) }, lane));
  } finally {
    for (const sub of due) mine.delete(sub.id);
  }
  return report;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** deliverSubscription sends one subscription its pending events until done or a failure. */
async function deliverSubscription(
  store: Store,
  sub: DueSubscription,
  s: Settings,
  report: NotifyReport,
): Promise<void> {
  let failures = sub.failures;
  let sent = 0;
  while (sent < s.maxPerRound) {
    const limit = Math.max(1, Math.min(s.batchSize, s.maxPerRound - sent));
    const batch = await store.nextBatch(sub.id, limit);
    if (!batch) return; // removed meanwhile
    for (const n of batch.notifications) {
      if (s.signal?.aborted) return;
      const outcome = await deliver(store, sub, n, s);
      // Cut short by a shutdown: not the receiver's fault, so not counted; it is sent again.
      if (!outcome.ok && s.signal?.aborted) return;
      if (!outcome.ok) {
        failures++;
        const disable = failures >= s.maxFailures;
        const next = disable ? null : s.now() + backoffMs(failures, s.baseMs, s.maxMs);
        const updated = await store.markFailed(sub.id, outcome.error, next, disable);
        report.failed++;
        if (updated && disable) report.disabled++;
        return; // later events wait: order is kept
      }
      failures = 0;
      sent++;
      report.delivered++;
      const updated = await store.markDelivered(sub.id, n.event.id, 1);
      if (!updated) return;
      if (updated.state === "ended") {
        report.ended++;
        return;
      }
    }
    // Everything matching was delivered: move past the events the filters skipped.
    if (batch.through !== batch.notifications.at(-1)?.event.id) {
      const updated = await store.markDelivered(sub.id, batch.through, 0);
      if (!updated) return;
      if (updated.state === "ended") {
        report.ended++;
        return;
      }
    }
    if (batch.notifications.length < limit) return; // a short batch read up to the head
  }
}

function deliver(
  store: Store,
  sub: DueSubscription,
  n: Notification,
  s: Settings,
): Promise<Outcome> {
  const body = payload(n);
  return sub.kind === "webhook"
    ? postWebhook(sub, n, body, s)
    : runCommand(sub.target, body, commandEnv(store, sub, n), s.commandTimeoutMs, s.signal);
}

async function postWebhook(
  sub: DueSubscription,
  n: Notification,
  body: string,
  s: Settings,
): Promise<Outcome> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": `kanban/${VERSION}`,
    "x-kanban-event": n.event.kind,
    "x-kanban-delivery": `${sub.id}-${n.event.id}`,
  };
  if (sub.secret !== null) headers["x-kanban-signature"] = signature(sub.secret, body);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), s.webhookTimeoutMs);
  const stop = () => abort.abort();
  s.signal?.addEventListener("abort", stop, { once: true });
  try {
    // Redirects are not followed: a POST turned into a GET elsewhere is not a delivery.
    const res = await fetch(sub.target, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: abort.signal,
    });
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel();
      return { ok: true };
    }
    const text = (await res.text()).replace(/\s+/g, " ").trim().slice(0, 200);
    return { ok: false, error: `HTTP ${res.status}${text ? `: ${text}` : ""}` };
  } catch (err) {
    if (abort.signal.aborted && !s.signal?.aborted) {
      return { ok: false, error: `no answer within ${s.webhookTimeoutMs} ms` };
    }
    return { ok: false, error: describe(err) };
  } finally {
    clearTimeout(timer);
    s.signal?.removeEventListener("abort", stop);
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // fetch() says only "fetch failed"; the reason (ECONNREFUSED, DNS, TLS) is in `cause`.
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.message}${cause}`;
}

/** The worker variables a subscription's command must not inherit: a run's, or a board's. */
const IDENTITY: ReadonlySet<string> = new Set(
  (["task", "run", "token", "board", "db"] as const).map((k) => WORKER_VARS[k]),
);

/** The command's environment: the dispatcher's, minus any worker identity, plus the event. */
function commandEnv(store: Store, sub: DueSubscription, n: Notification): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !IDENTITY.has(key)) env[key] = value;
  }
  return {
    ...env,
    [WORKER_VARS.db]: store.path,
    KANBAN_EVENT: n.event.kind,
    KANBAN_EVENT_ID: String(n.event.id),
    KANBAN_EVENT_TASK: n.event.task_id ?? "",
    KANBAN_DELIVERY: `${sub.id}-${n.event.id}`,
    KANBAN_SUBSCRIPTION: String(sub.id),
  };
}

const STDERR_TAIL = 500;

/**
 * runCommand runs `sh -c command` in its own process group with `input` on stdin; success is
 * exit code 0. Past `timeoutMs`, or when `signal` aborts, the whole group is killed. stdout is
 * discarded; the end of stderr becomes the error message.
 */
export function runCommand(
  command: string,
  input: string,
  env: Record<string, string>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let stderr = "";
    let timedOut = false;
    let settled = false;
    let exit: { code: number | null; signal: string | null } | null = null;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const finish = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(grace);
      signal?.removeEventListener("abort", kill);
      child.stderr?.destroy();
      resolve(o);
    };
    const conclude = () => {
      if (!exit) return;
      const tail = stderr.replace(/\s+/g, " ").trim();
      const detail = tail ? `: ${tail}` : "";
      if (signal?.aborted) finish({ ok: false, error: "command stopped: delivery was aborted" });
      else if (timedOut) finish({ ok: false, error: `command ran longer than ${timeoutMs} ms` });
      else if (exit.code === 0) finish({ ok: true });
      else if (exit.signal) {
        finish({ ok: false, error: `command killed by ${exit.signal}${detail}` });
      } else finish({ ok: false, error: `command exited with code ${exit.code}${detail}` });
    };
    const child = spawn("sh", ["-c", command], {
      env,
      detached: true, // its own group, so a timeout kills a whole pipeline
      stdio: ["pipe", "ignore", "pipe"],
    });
    const kill = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, timeoutMs);
    if (signal?.aborted) kill();
    else signal?.addEventListener("abort", kill, { once: true });
    child.once("error", (err) => finish({ ok: false, error: `cannot run sh: ${err.message}` }));
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL);
    });
    // A command that exits without reading stdin closes the pipe: not an error in itself.
    child.stdin!.on("error", () => {});
    child.stdin!.end(`${input}\n`);
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      // stderr's last bytes arrive with "close"; but a background grandchild may hold it open.
      grace = setTimeout(conclude, 250);
    });
    child.once("close", conclude);
  });
}
