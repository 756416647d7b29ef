/**
 * `kanban budget add|list|remove`: caps on what runs use (docs/budgets.md). A budget caps one
 * metric (tokens, a kind of tokens, cost, runs, worker time) of the runs in a scope (the board,
 * a profile, a tenant, a task) over a window (each run, the UTC day, week or month, or a rolling
 * number of hours); hard ones hold claims and stop workers, soft ones warn.
 */
import { type Command, InvalidArgumentError } from "@commander-js/extra-typings";
import {
  BUDGET_METRICS,
  type BudgetMetric,
  budgetScope,
  type BudgetStatus,
  budgetWindow,
  unitOf,
  windowText,
} from "../../store/mod.ts";
import { type CliContext, session } from "../context.ts";
import { emit } from "../output.ts";
import { table } from "../render.ts";

/** asArgument turns a store's reading of `text` into commander's argument error. */
function asArgument<T>(read: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return read(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

function parseMetric(text: string): BudgetMetric {
  if ((BUDGET_METRICS as readonly string[]).includes(text)) return text as BudgetMetric;
  throw new InvalidArgumentError(`"${text}" is not a metric (${BUDGET_METRICS.join(", ")})`);
}

function parseCap(text: string): number {
  const n = Number(text.replace(/_/g, ""));
  if (text.trim() === "" || !Number.isFinite(n)) {
    throw new InvalidArgumentError(`"${text}" is not a number`);
  }
  return n;
}

/** amount shows a figure of a metric: dollars with cents, others whole (k, M above). */
function amount(n: number, metric: BudgetMetric): string {
  if (metric === "cost_usd") return `$${n.toFixed(2)}`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(n >= 1e5 ? 0 : 1)}k`;
  return `${Math.round(n)}`;
}

/** budgetLine is one budget for a person: spent of cap, the window, its state. */
export function budgetLine(b: BudgetStatus): string {
  const pct = Math.round((b.spent / b.cap) * 100);
  return `${b.name}: ${amount(b.spent, b.metric)} of ${amount(b.cap, b.metric)} ${
    unitOf(b.metric)
  } ${windowText(b)} (${pct}%)${
    b.state === "over" ? (b.hard ? ", SPENT: holding" : ", over: warning") : ""
  }`;
}

export function register(program: Command, ctx: CliContext): void {
  const budget = program.command("budget")
    .description("cap what runs use: tokens, cost, runs or worker time (docs/budgets.md)");

  budget.command("add")
    .description("add a budget: hard (holds claims, stops workers) unless --soft")
    .argument("<name>", "the budget's name")
    .requiredOption(
      "--scope <scope>",
      "board, profile:NAME, tenant:NAME or task:ID",
      asArgument(budgetScope),
    )
    .requiredOption("--metric <metric>", BUDGET_METRICS.join(", "), parseMetric)
    .requiredOption("--cap <n>", "the most the window may spend (USD for cost_usd)", parseCap)
    .requiredOption(
      "--window <window>",
      "run (each run), day, week, month (UTC), or hours like 5h (rolling)",
      asArgument(budgetWindow),
    )
    .option("--soft", "warn only (an event and a notification); claims and workers go on")
    .action(async (name, opts, cmd) => {
      using s = session(ctx, cmd);
      const b = await s.store.addBudget({
        name,
        ...opts.scope,
        metric: opts.metric,
        cap: opts.cap,
        ...opts.window,
        hard: opts.soft !== true,
      }, s.actor);
      emit(ctx, s.json, b, () => `added ${b.hard ? "hard" : "soft"} budget ${b.name}`);
    });

  budget.command("list")
    .description("every budget with what its window has spent")
    .action(async (_opts, cmd) => {
      using s = session(ctx, cmd);
      const all = await s.store.budgets();
      emit(ctx, s.json, all, () => {
        if (all.length === 0) return "no budgets";
        return table([
          ["NAME", "SCOPE", "METRIC", "WINDOW", "SPENT", "CAP", "MODE", "STATE", "RESETS"],
          ...all.map((b) => [
            b.name,
            b.target === null ? b.scope : `${b.scope}:${b.target}`,
            b.metric,
            b.period === "hours" ? `${b.hours}h` : b.period,
            amount(b.spent, b.metric),
            amount(b.cap, b.metric),
            b.hard ? "hard" : "soft",
            b.state,
            b.resets_at ?? "-",
          ]),
        ]);
      });
    });

  budget.command("remove")
    .description("remove a budget")
    .argument("<name>", "the budget")
    .action(async (name, _opts, cmd) => {
      using s = session(ctx, cmd);
      await s.store.removeBudget(name, s.actor);
      emit(ctx, s.json, { removed: name }, () => `removed budget ${name}`);
    });
}
