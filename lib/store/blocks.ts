/**
 * Typed blocks: why a task stopped, which decides where it goes. `needs_input` waits for a
 * person (blocked); `dependency` waits for another task (linked as its parent, promoted when
 * that task finishes); `transient` is retried later without counting as a failure;
 * `capability` asks for another profile (reassigned and queued, or sent to triage when no
 * profile is named). The loop breaker: the `blockLimit`-th block of one kind since the task
 * last completed (`transientLimit` for transient) sends it to triage with the reason.
 *
 * This module holds no store code (the dashboard bundle imports it): the kinds, their input
 * and the breaker's arithmetic. lib/store/lifecycle.ts's block() applies them.
 */

/** The kinds of block, the default first. */
export const BLOCK_KINDS = ["needs_input", "dependency", "transient", "capability"] as const;
export type BlockKind = (typeof BLOCK_KINDS)[number];

/** How many times a task was blocked per kind since it last completed. */
export type BlockCounts = Partial<Record<BlockKind, number>>;

/** isBlockKind tells whether `value` names one of BLOCK_KINDS. */
export function isBlockKind(value: string): value is BlockKind {
  return (BLOCK_KINDS as readonly string[]).includes(value);
}

/** What a block takes besides its reason; each kind uses its own field. */
export interface BlockOptions {
  /** The kind (default needs_input). */
  kind?: BlockKind | undefined;
  /** dependency: the task to wait on (required). */
  on?: string | undefined;
  /** transient: seconds before the retry (default: the store's backoff). */
  retry_after_seconds?: number | undefined;
  /** capability: the profile that should take the task (none: to triage). */
  profile?: string | undefined;
}

/** breakerReason is the triage reason the loop breaker gives. */
export function breakerReason(kind: BlockKind, times: number, reason: string): string {
  return `blocked ${times} times for ${kind}: ${reason}`;
}
