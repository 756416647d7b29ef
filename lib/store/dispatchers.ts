/**
 * The board's dispatch lease. Every dispatcher process has a row; at most one is active (a
 * unique index says so). The active one renews its lease every pass; a standby takes over
 * once the lease has expired, so a dead dispatcher is replaced within one lease period.
 */
import { appendEvent, type Kernel } from "./_kernel.ts";
import { iso, toEvent } from "./_rows.ts";
import type { DispatcherRow } from "./driver/core.ts";
import type { Actor, TaskEvent } from "./types.ts";

export interface Dispatcher {
  id: string;
  host: string;
  pid: number;
  started_at: string;
  last_tick: string;
  active: boolean;
  lease_expires: string | null;
  stopped_at: string | null;
  report: unknown;
}

function toDispatcher(r: DispatcherRow): Dispatcher {
  return {
    id: r.id,
    host: r.host,
    pid: r.pid,
    started_at: iso(r.started_at),
    last_tick: iso(r.last_tick),
    active: r.active === 1,
    lease_expires: iso(r.lease_expires),
    stopped_at: iso(r.stopped_at),
    report: r.report === null ? null : JSON.parse(r.report),
  };
}

export interface LeaseResult {
  /** Whether the caller holds the board's dispatch lease now. */
  active: boolean;
  /** The dispatcher holding the lease when the caller does not. */
  holder: Dispatcher | null;
  /** The dispatcher whose expired lease the caller took over, if any. */
  tookOverFrom: string | null;
}

/** Inactive dispatcher rows older than this are deleted (the next lease pass does it). */
export const PRUNE_AFTER_MS = 24 * 3600_000;

/**
 * When a dispatcher may take the lease of another: once it has expired by the wall clock
 * (`expired`); not now, whatever the wall clock says (`never`: the caller saw the holder tick
 * within a lease period by its own monotonic clock); or now if the holder is still exactly as
 * the caller last saw it (`{ unchanged }`, a `holderKey`: it has not ticked for a whole lease
 * period by that clock, though a step back of the wall clock makes its lease look unexpired).
 */
export type Takeover = "expired" | "never" | { unchanged: string };

/** holderKey identifies a dispatcher row as of its last tick (it changes with every tick). */
export function holderKey(d: Dispatcher): string {
  return `${d.id} ${d.last_tick} ${d.lease_expires}`;
}

/** acquireLease takes or renews the dispatch lease for `me` unless another holds it. */
export async function acquireLease(
  k: Kernel,
  me: { id: string; host: string; pid: number },
  leaseMs: number,
  takeover: Takeover = "expired",
): Promise<LeaseResult> {
  const now = k.now();
  // Rows of dispatchers that stopped or vanished long ago say nothing any more.
  await k.q.dispatchersPrune(now - PRUNE_AFTER_MS, me.id);
  await k.q.dispatcherSeen(me, now);
  const current = await k.q.dispatcherActive();
  let tookOverFrom: string | null = null;
  if (current && current.id !== me.id) {
    const holds = takeover === "never" ||
      (takeover === "expired" && current.lease_expires! > now) ||
      (typeof takeover === "object" && takeover.unchanged !== holderKey(toDispatcher(current)));
    if (holds) {
      return { active: false, holder: toDispatcher(current), tookOverFrom: null };
    }
    await k.q.dispatcherUpdate(current.id, { active: 0, lease_expires: null });
    tookOverFrom = current.id;
    await appendEvent(k, null, null, "dispatcher_takeover", { name: me.id }, {
      from: current.id,
      lease_expired_at: iso(current.lease_expires),
    });
  }
  await k.q.dispatcherUpdate(me.id, { active: 1, lease_expires: now + leaseMs });
  return { active: true, holder: null, tookOverFrom };
}

/** releaseLease gives the lease up (a clean shutdown), so a standby can take over at once. */
export function releaseLease(k: Kernel, id: string): Promise<void> {
  return k.q.dispatcherUpdate(id, { active: 0, lease_expires: null, stopped_at: k.now() });
}

/** recordTick stores the dispatcher's latest pass report. */
export function recordTick(k: Kernel, id: string, report: unknown): Promise<void> {
  return k.q.dispatcherUpdate(id, { last_tick: k.now(), report: JSON.stringify(report) });
}

/** listDispatchers returns dispatchers seen since `since` (ms), the active one first. */
export async function listDispatchers(k: Kernel, since: number): Promise<Dispatcher[]> {
  return (await k.q.dispatchersSince(since)).map(toDispatcher);
}

/**
 * requestDispatch records that someone asked for a dispatch pass now (the dashboard's
 * "dispatch" button). The write itself is the point: a dispatcher watching the board wakes
 * within milliseconds of any commit. Returns the event it appended.
 */
export async function requestDispatch(k: Kernel, actor: Actor): Promise<TaskEvent> {
  return toEvent(await appendEvent(k, null, null, "dispatch_requested", actor));
}
