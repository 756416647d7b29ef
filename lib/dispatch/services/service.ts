/**
 * A supervision service: one job of the dispatcher's pass (river's maintenance services), an
 * object with a name and `runOnce(now)` returning its own small report. The dispatcher loop
 * runs them in order (services/mod.ts lists them) and merges their reports into the pass's.
 * Each is built with what it needs passed in, the clock included, so a test runs one alone.
 */
import type { Config, DispatchConfig } from "../../config/config.ts";
import type { Actor, RetryPolicy } from "../../store/mod.ts";

/**
 * Now is the pass's time, read once from the injected clock: `wall` (ms since the epoch, the
 * board's timestamps and deadlines) and `mono` (monotonic ms, every duration the dispatcher
 * measures itself, so a step of the wall clock never stops a healthy worker).
 */
export interface Now {
  wall: number;
  mono: number;
}

/** Clock is the injected clock: the dispatcher's `now` and `mono` options. */
export interface Clock {
  now(): number;
  mono(): number;
}

/** readNow reads both clocks. */
export function readNow(clock: Clock): Now {
  return { wall: clock.now(), mono: clock.mono() };
}

/** Service is one job of a pass; `R` is its report, a part of the pass report. */
export interface Service<R extends object = object> {
  readonly name: string;
  /**
   * A chore of the whole board, done once however many hosts dispatch it (sending
   * notifications): only the board's leader runs it (lib/store/dispatchers.ts).
   */
  readonly boardWide?: boolean;
  runOnce(now: Now): Promise<R>;
}

/** The config as it is now: config.toml may be reloaded between passes. */
export type ConfigSource = () => Config;

/** The dispatcher's own actor in the board's events. */
export const DISPATCHER_ACTOR: Actor = { name: "dispatcher" };

/** retryPolicy is config.toml's retry policy, passed with every run the dispatcher ends. */
export function retryPolicy(d: DispatchConfig): RetryPolicy {
  return {
    failureLimit: d.failure_limit,
    backoffMs: (n: number) => Math.min(d.backoff * 2 ** (n - 1), d.max_backoff),
  };
}
