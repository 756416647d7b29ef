/**
 * The notify service: starts a notification round (lib/dispatch/notify.ts) unless one is still
 * going, and reports the last finished round. A slow webhook must never hold up claims and
 * stops, so delivery runs beside the passes (in order per subscription).
 */
import type { Store } from "../../store/mod.ts";
import { deliverNotifications, type NotifyOptions, type NotifyReport } from "../notify.ts";
import type { Clock, Now, Service } from "./service.ts";

export interface NotifyServiceReport {
  /** The last finished round (null: none finished yet). */
  notifications: NotifyReport | null;
}

export interface NotifyDeps {
  store: Store;
  /** Its wall clock stamps retry times (read when a delivery fails, not at the pass's start). */
  clock: Pick<Clock, "now">;
  log: (line: string) => void;
  /** Delivery settings (backoff, timeouts, ...). */
  options?: Omit<NotifyOptions, "now">;
}

export class NotifyService implements Service<NotifyServiceReport> {
  readonly name = "notify";
  readonly boardWide = true;
  readonly #d: NotifyDeps;
  #round: Promise<void> | null = null;
  #last: NotifyReport | null = null;

  constructor(deps: NotifyDeps) {
    this.#d = deps;
  }

  /** The last finished round (the pass report carries it from the pass's start). */
  get last(): NotifyReport | null {
    return this.#last;
  }

  runOnce(_now: Now): Promise<NotifyServiceReport> {
    const report = { notifications: this.#last };
    if (this.#round) return Promise.resolve(report);
    this.#round = deliverNotifications(this.#d.store, {
      ...this.#d.options,
      now: () => this.#d.clock.now(),
    })
      .then((r) => {
        this.#last = r;
      })
      .catch((err) => this.#d.log(`notifications: ${(err as Error).message}`))
      .finally(() => {
        this.#round = null;
      });
    return Promise.resolve(report);
  }

  /** settle waits for a round in flight (before the store is closed). */
  async settle(): Promise<void> {
    await this.#round;
  }
}
