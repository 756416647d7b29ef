/**
 * The routines service: fires the board's due routines (lib/store/routines.ts), each
 * occurrence once however many dispatchers run it at the same moment: the store claims an
 * occurrence in the transaction that creates its tasks. Every dispatcher runs it (not only the
 * leader), so a routine fires while any dispatcher of the board is up, `kanban dispatch --once`
 * from cron included. It runs before fill, so a routine's task can start in the same pass.
 */
import type { Store } from "../../store/mod.ts";
import type { Now, Service } from "./service.ts";

export interface RoutinesReport {
  /** The occurrences fired this pass: routine, occurrence (ISO) and the tasks made. */
  routines_fired: { routine: string; occurrence: string; tasks: string[]; catch_up: boolean }[];
  /** Routines that could not make their tasks this pass (tried again the next). */
  routines_failed: { routine: string; error: string }[];
}

export class RoutinesService implements Service<RoutinesReport> {
  readonly name = "routines";
  readonly #store: Store;
  readonly #log: (line: string) => void;

  constructor(deps: { store: Store; log?: ((line: string) => void) | undefined }) {
    this.#store = deps.store;
    this.#log = deps.log ?? (() => {});
  }

  async runOnce(_now: Now): Promise<RoutinesReport> {
    // the store's clock decides what is due, as for promote: occurrences are board time
    const { fired, failed } = await this.#store.fireDueRoutines();
    for (const f of failed) {
      this.#log(`routine ${f.routine}: cannot make its tasks: ${f.error.message}`);
    }
    return {
      routines_fired: fired.map((f) => ({
        routine: f.routine,
        occurrence: new Date(f.occurrence).toISOString(),
        tasks: f.tasks.map((t) => t.id),
        catch_up: f.catch_up,
      })),
      routines_failed: failed.map((f) => ({ routine: f.routine, error: f.error.message })),
    };
  }
}
