/** The promote service: moves scheduled tasks whose time came (and whose parents are done) to ready. */
import type { Store } from "../../store/mod.ts";
import { DISPATCHER_ACTOR, type Now, type Service } from "./service.ts";

export interface PromoteReport {
  promoted: number;
}

export class PromoteService implements Service<PromoteReport> {
  readonly name = "promote";
  readonly #store: Store;

  constructor(deps: { store: Store }) {
    this.#store = deps.store;
  }

  async runOnce(_now: Now): Promise<PromoteReport> {
    // the store's clock decides what is due: the board's deadlines are in its wall time
    return { promoted: await this.#store.promoteDue(DISPATCHER_ACTOR) };
  }
}
