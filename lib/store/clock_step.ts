/**
 * A step of the wall clock (an NTP correction, a VM resumed after hours) moves "now" but not
 * the deadlines the board stores as wall time. Left alone, a +3 h step makes every backoff and
 * every lease look long past, and a -3 h step holds them for three hours more. The dispatcher
 * measures durations on the monotonic clock, sees the step as a jump between the two clocks,
 * and shifts the deadlines that were still pending by the same amount, so each keeps the time
 * it had left. Calendar times a person chose (`not_before`) are not deadlines and stay.
 */
import { appendEvent, type Kernel } from "./_kernel.ts";
import type { Actor } from "./types.ts";

export interface ShiftResult {
  step_ms: number;
  /** Tasks whose retry backoff was shifted. */
  retries: number;
  /** Open runs whose lease was shifted. */
  leases: number;
  /** Notification subscriptions whose next attempt was shifted. */
  notifications: number;
}

/**
 * shiftDeadlines adds `stepMs` to every deadline that was still in the future before the step
 * (after the step, "before" is `now - stepMs`), in one transaction, and records a
 * `clock_step` event on the board.
 */
export async function shiftDeadlines(
  k: Kernel,
  stepMs: number,
  actor: Actor,
): Promise<ShiftResult> {
  const moved = await k.q.shiftDeadlines(stepMs, k.now() - stepMs);
  const result: ShiftResult = { step_ms: stepMs, ...moved };
  appendEvent(k, null, null, "clock_step", actor, { ...result });
  return result;
}
