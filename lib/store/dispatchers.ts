/**
 * The dispatch leases. Every dispatcher process has a row, and a lease (`lease_expires`) it
 * renews every pass:
 * - **One dispatcher per host runs.** A host is the dispatcher's host identity (its hostname
 *   unless configured): among the rows of one host, the one whose lease has not expired works
 *   and the others stand by; a standby takes over once that lease expires, so a dead
 *   dispatcher is replaced within one lease period. Dispatchers of different hosts all run at
 *   once, each filling its own capacity.
 * - **One of them leads the board** (`active`, unique by index): it does the board's own
 *   chores, which must happen once, not once per host (notifications; applying a step of its
 *   wall clock to the board's deadlines). Any running dispatcher takes the lead once the
 *   leader's lease has expired.
 * Leases of different hosts compare wall clocks: hosts sharing a board keep them in step
 * (NTP), as every lease across machines needs (docs/scale-out.md).
 */
import { appendEvent, flushEvents, type Kernel } from "./_kernel.ts";
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
  /** Whether the caller is its host's running dispatcher now (else it stands by). */
  active: boolean;
  /** Whether the caller also leads the board (its once-per-board chores). */
  leader: boolean;
  /** The dispatcher of the caller's host that runs when the caller stands by. */
  holder: Dispatcher | null;
  /** The dispatcher of this host whose expired lease the caller took over, if any. */
  tookOverFrom: string | null;
  /** The leader whose expired lease the caller took the lead from, if any. */
  ledFrom: string | null;
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

/**
 * acquireLease takes or renews `me`'s lease unless another dispatcher of its host holds one,
 * and takes the board's lead when nobody holds it. One transaction: two dispatchers starting
 * at once on a host cannot both run.
 */
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
  const rows = await k.q.dispatchersSince(0);
  const live = (r: DispatcherRow) =>
    r.id !== me.id && r.stopped_at === null && r.lease_expires !== null;
  // The dispatcher of this host holding the latest lease (one at most while this function
  // keeps them; a board from before hosts ran at once may show older ones, all expired).
  const mine = rows.filter((r) => live(r) && r.host === me.host)
    .sort((a, b) => b.lease_expires! - a.lease_expires!);
  const current = mine[0] ?? null;
  let tookOverFrom: string | null = null;
  if (current !== null) {
    const holds = takeover === "never" ||
      (takeover === "expired" && current.lease_expires! > now) ||
      (typeof takeover === "object" && takeover.unchanged !== holderKey(toDispatcher(current)));
    if (holds) {
      return {
        active: false,
        leader: false,
        holder: toDispatcher(current),
        tookOverFrom: null,
        ledFrom: null,
      };
    }
    for (const r of mine) await k.q.dispatcherUpdate(r.id, { active: 0, lease_expires: null });
    tookOverFrom = current.id;
    appendEvent(k, null, null, "dispatcher_takeover", { name: me.id }, {
      from: current.id,
      host: me.host,
      lease_expired_at: iso(current.lease_expires),
    });
  }
  // The lead: kept while its holder's lease runs (a leader just taken over above has none).
  const leader = rows.find((r) => r.active === 1 && r.id !== me.id && r.id !== tookOverFrom);
  let ledFrom: string | null = null;
  let lead = true;
  if (leader !== undefined) {
    if (leader.lease_expires !== null && leader.lease_expires > now) lead = false;
    else {
      await k.q.dispatcherUpdate(leader.id, { active: 0 });
      ledFrom = leader.id;
    }
  }
  await k.q.dispatcherUpdate(me.id, { active: lead ? 1 : 0, lease_expires: now + leaseMs });
  return { active: true, leader: lead, holder: null, tookOverFrom, ledFrom };
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
  appendEvent(k, null, null, "dispatch_requested", actor);
  const [event] = await flushEvents(k); // written now, to say its id
  return toEvent(event!);
}
