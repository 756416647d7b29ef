/**
 * The queue service: reports ready tasks whose assignee no profile runs (they would wait
 * forever). It groups the ready queue at most once per poll interval of the monotonic clock: a
 * pass runs on every board write, and the grouping reads every ready task.
 */
import type { Store } from "../../store/mod.ts";
import { missingProfiles, type PassReport } from "../report.ts";
import type { ConfigSource, Now, Service } from "./service.ts";

export interface QueueReport {
  missing_profiles: PassReport["missing_profiles"];
}

export class QueueService implements Service<QueueReport> {
  readonly name = "queue";
  readonly #store: Store;
  readonly #config: ConfigSource;
  #last: { at: number; missing: PassReport["missing_profiles"] } | null = null;

  constructor(deps: { store: Store; config: ConfigSource }) {
    this.#store = deps.store;
    this.#config = deps.config;
  }

  /** forget drops the last grouping (the profiles changed: config.toml was reloaded). */
  forget(): void {
    this.#last = null;
  }

  async runOnce(now: Now): Promise<QueueReport> {
    const config = this.#config();
    if (!this.#last || now.mono - this.#last.at >= config.dispatch.poll_interval) {
      this.#last = { at: now.mono, missing: await missingProfiles(this.#store, config.profiles) };
    }
    return { missing_profiles: [...this.#last.missing] };
  }
}
