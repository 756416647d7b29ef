/**
 * The decompose service: with `decompose.auto` on (config.toml), unassigned triage tasks that
 * nobody has touched for `decompose.settle` are handed to the orchestrator to be decomposed
 * (lib/store/plans.ts). Off by default: nothing is decomposed unless asked. The settle time
 * keeps a task a person is still writing (or about to assign) from being planned under them.
 * Several dispatchers may do this at once: the store lets one request through per task.
 */
import { ConflictError, IllegalTransitionError, type Store } from "../../store/mod.ts";
import { decomposeRequest } from "../decompose.ts";
import { type ConfigSource, DISPATCHER_ACTOR, type Now, type Service } from "./service.ts";

/** The most triage tasks one pass looks at. */
export const DECOMPOSE_SCAN = 200;

export interface DecomposeReport {
  decomposing: { task: string; profile: string }[];
}

export interface DecomposeDeps {
  store: Store;
  config: ConfigSource;
  log: (line: string) => void;
}

export class DecomposeService implements Service<DecomposeReport> {
  readonly name = "decompose";
  readonly #d: DecomposeDeps;
  /** The last reason auto decomposition could not run, said once until it changes. */
  #said: string | null = null;

  constructor(deps: DecomposeDeps) {
    this.#d = deps;
  }

  async runOnce(now: Now): Promise<DecomposeReport> {
    const report: DecomposeReport = { decomposing: [] };
    const config = this.#d.config();
    if (!config.decompose.auto) return report;
    let request;
    try {
      request = decomposeRequest(config, {});
    } catch (err) {
      const why = `decompose.auto is on, but ${(err as Error).message}`;
      if (this.#said !== why) this.#d.log(why);
      this.#said = why;
      return report;
    }
    this.#said = null;
    const settled = now.wall - config.decompose.settle;
    const triage = await this.#d.store.listTasks({ statuses: ["triage"], limit: DECOMPOSE_SCAN });
    for (const t of triage) {
      if (t.assignee !== null || Date.parse(t.updated_at) > settled) continue;
      try {
        await this.#d.store.decompose(t.id, request, DISPATCHER_ACTOR);
      } catch (err) {
        // another dispatcher (or a person) was first, or the task moved meanwhile
        if (err instanceof ConflictError || err instanceof IllegalTransitionError) continue;
        throw err;
      }
      report.decomposing.push({ task: t.id, profile: request.profile });
      this.#d.log(`${t.id}: decomposition asked of ${request.profile} (decompose.auto)`);
    }
    return report;
  }
}
