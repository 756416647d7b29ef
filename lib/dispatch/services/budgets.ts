/**
 * The budget service (lib/store/budgets.ts): judges the hard budgets once per pass, before the
 * fill service claims, which leaves the profiles, tenants and tasks they hold back; stops this
 * host's workers whose runs are in a spent budget's scope (outcome `stopped`, the budget named,
 * not counted as the task's failure), and blocks the task of a run that passed a per-run cap
 * once its worker is gone (it would pass it again). Each budget's first crossing in a window
 * is recorded by the store, once for all hosts.
 */
import {
  type BudgetHolds,
  type BudgetInput,
  budgetScope,
  budgetWindow,
  type Store,
  ValidationError,
} from "../../store/mod.ts";
import { type ConfigSource, DISPATCHER_ACTOR, type Now, type Service } from "./service.ts";
import type { Stopping, WorkerTable } from "./workers.ts";

export interface BudgetReport {
  /** Held back this pass by a hard budget: what (profile, tenant or task) and the budget. */
  budget_held: { kind: "profile" | "tenant" | "task"; name: string; reason: string }[];
  stopping: Stopping[];
}

export interface BudgetDeps {
  store: Store;
  config: ConfigSource;
  workers: WorkerTable;
  /** This host: config.toml's budgets are put on the board as `config:HOST`. */
  host: string;
  log: (line: string) => void;
}

/** What the budget service leaves the fill service: the holds of this pass (null: none). */
export interface BudgetGate {
  holds: BudgetHolds | null;
}

export class BudgetService implements Service<BudgetReport> {
  readonly name = "budgets";
  readonly gate: BudgetGate = { holds: null };
  readonly #d: BudgetDeps;
  /** Tasks to block, once their worker is gone, with why (a per-run cap passed). */
  readonly #toBlock = new Map<string, string>();
  /** The config whose budgets are on the board. */
  #synced: ReturnType<ConfigSource> | null = null;
  /** What was held last pass, so the log says each change once. */
  #held = new Set<string>();

  constructor(deps: BudgetDeps) {
    this.#d = deps;
  }

  async runOnce(_now: Now): Promise<BudgetReport> {
    const { store, workers } = this.#d;
    const report: BudgetReport = { budget_held: [], stopping: [] };
    await this.#sync();
    const profiles = Object.keys(this.#d.config().profiles);
    const holds = await store.budgetHolds(profiles, DISPATCHER_ACTOR);
    this.gate.holds = holds;
    for (
      const [kind, map] of [
        ["profile", holds.profiles],
        ["tenant", holds.tenants],
        ["task", holds.tasks],
      ] as const
    ) {
      for (const [name, reason] of map) report.budget_held.push({ kind, name, reason });
    }
    this.#logChanges(report.budget_held);
    for (const s of holds.stop) {
      const w = workers.all().find((x) => x.runId === s.run);
      if (w === undefined || w.stop) continue; // another host's worker, or stopping already
      workers.startStop(w, "stopped", s.reason, report.stopping);
      if (s.block) this.#toBlock.set(s.task, s.reason);
    }
    for (const [task, reason] of this.#toBlock) {
      const t = await store.getTask(task);
      if (t.status === "running") continue; // its worker is still being stopped
      this.#toBlock.delete(task);
      if (t.status === "ready" || t.status === "todo" || t.status === "scheduled") {
        await store.block(task, reason, DISPATCHER_ACTOR);
      }
    }
    return report;
  }

  /**
   * #sync puts the budgets config.toml declares on the board (once per config read: at the
   * first pass and after a reload), as `config:HOST`. config.toml's reading checked each; one
   * the store still refuses stops the sync, logged, and the board's budgets stay as they were
   * until the file is fixed.
   */
  async #sync(): Promise<void> {
    const config = this.#d.config();
    if (config === this.#synced) return;
    this.#synced = config;
    const declared: BudgetInput[] = Object.entries(config.budgets).map(([name, b]) => ({
      name,
      ...budgetScope(b.scope),
      metric: b.metric,
      cap: b.cap,
      ...budgetWindow(b.window),
      hard: !b.soft,
    }));
    try {
      const owner = `config:${this.#d.host}`;
      for (const line of await this.#d.store.syncBudgets(declared, owner, DISPATCHER_ACTOR)) {
        this.#d.log(`${line} (config.toml)`);
      }
    } catch (err) {
      if (!(err instanceof ValidationError)) {
        this.#synced = null; // the board was out of reach: the next pass tries again
        throw err;
      }
      this.#d.log(`config.toml's budgets not applied: ${err.message}`);
    }
  }

  #logChanges(held: BudgetReport["budget_held"]): void {
    const now = new Set(held.map((h) => `${h.kind} ${h.name}: ${h.reason}`));
    for (const h of now) if (!this.#held.has(h)) this.#d.log(`holding ${h}`);
    for (const h of this.#held) if (!now.has(h)) this.#d.log(`no longer holding ${h}`);
    this.#held = now;
  }
}
