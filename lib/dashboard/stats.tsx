/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * The stats view: the fleet's work and cost as plots, with the numbers a click away. For a
 * window (24 h by the hour, 7 or 30 days by the day, UTC): tasks finished, queue age, run
 * outcomes per profile, and tokens and cost per profile once runs report usage. Each plot's
 * "Table" shows its exact figures. The series is read when the view opens, when the window or
 * the tenant filter changes, and again after runs end or cards change (coalesced).
 */
import { effect, signal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, type BudgetSeries, query, type SeriesData } from "./api.ts";
import { health, pollHealth, usage } from "./live.ts";
import { Plot, type PlotSpec } from "./plot.tsx";
import { attempt, board, filters, message, store, stored, toast } from "./state.ts";
import {
  axisDollars,
  bucketText,
  compact,
  cost,
  exact,
  exactDollars,
  outcomeRows,
  outcomeSeries,
  outcomesSeen,
  perProfile,
  profileName,
  tokensOf,
  totalOf,
  usageRows,
  WAIT_STEPS,
  waitText,
  WHOLE_STEPS,
  WINDOWS,
  type WindowSince,
  windowTotals,
  xs,
} from "./stats_data.ts";

// Data ---------------------------------------------------------------------------------------

function storedWindow(): WindowSince {
  const w = stored("statsWindow");
  return WINDOWS.find((x) => x.since === w)?.since ?? "7d";
}

/** The window shown (kept in the browser like the theme). */
export const statsWindow = signal<WindowSince>(storedWindow());
/** The series as last read, with the window and tenant it was read for. */
export const series = signal<{ since: WindowSince; tenant: string; data: SeriesData } | null>(null);
export const seriesError = signal<string | null>(null);
export const seriesLoading = signal(false);

let seq = 0;

/** loadSeries reads the series for the window and tenant; only the newest answer is kept. */
export async function loadSeries(): Promise<void> {
  const n = ++seq;
  const since = statsWindow.value;
  const tenant = filters.value.tenant;
  const bucket = WINDOWS.find((w) => w.since === since)!.bucket;
  seriesLoading.value = true;
  try {
    const data = await api.series(query({ since, bucket, tenant }));
    if (n !== seq) return;
    series.value = { since, tenant, data };
    seriesError.value = null;
  } catch (err) {
    if (n === seq) seriesError.value = message(err);
  } finally {
    if (n === seq) seriesLoading.value = false;
  }
}

export function chooseWindow(since: WindowSince): void {
  statsWindow.value = since;
  store("statsWindow", since);
}

/**
 * Runs ending reach the page as a new usage summary (live.ts reads it a few seconds after runs
 * end, several endings making one read), finished tasks as a new board: either reads the
 * series again, at most once per this.
 */
const AFTER_CHANGE_MS = 1500;

/** follow keeps the series current while the view is open; returns the stop. */
function follow(): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let first = true;
  const soon = () => {
    timer ??= setTimeout(() => {
      timer = null;
      void loadSeries();
    }, AFTER_CHANGE_MS);
  };
  const stopChanges = effect(() => {
    void usage.value;
    void board.value;
    if (!first) soon();
  });
  // At once when the person picks another window or tenant (not on other filters' changes).
  let asked = "";
  const stopChoice = effect(() => {
    const now = `${statsWindow.value} ${filters.value.tenant}`;
    if (now === asked) return;
    asked = now;
    void loadSeries();
  });
  first = false;
  return () => {
    stopChanges();
    stopChoice();
    if (timer !== null) clearTimeout(timer);
  };
}

// View ---------------------------------------------------------------------------------------

export function Stats() {
  useEffect(follow, []);
  const s = series.value;
  const current = s !== null && s.since === statsWindow.value &&
    s.tenant === filters.value.tenant;
  return (
    <main
      class="stats"
      data-testid="stats"
      aria-busy={seriesLoading.value || !current}
      aria-label="stats"
    >
      <header class="stats-head">
        <h2>Stats</h2>
        <WindowPicker />
        {filters.value.tenant && <span class="muted">tenant {filters.value.tenant}</span>}
        {s !== null && <Summary data={s.data} />}
      </header>
      {seriesError.value !== null && (
        <p class="state error" role="alert" data-testid="stats-error">
          Stats unavailable: {seriesError.value}{" "}
          <button type="button" onClick={() => void loadSeries()}>Try again</button>
        </p>
      )}
      <Budgets />
      <Holds />
      <Routines />
      {s === null
        ? seriesError.value === null && <p class="muted stats-loading">Loading…</p>
        : <Panels data={s.data} />}
    </main>
  );
}

/** A budget's figure: dollars with cents, others whole. */
function budgetAmount(n: number, metric: string): string {
  return metric === "cost_usd" ? `$${n.toFixed(2)}` : compact(Math.round(n));
}

/**
 * Budgets (docs/budgets.md): each budget as a bar of what its window spent against its cap,
 * red once spent, with its window and when it resets (from the health poll).
 */
function Budgets() {
  const budgets = health.value?.budgets ?? [];
  if (budgets.length === 0) return null;
  return (
    <section class="stats-panel" data-testid="budgets" data-panel="budgets">
      <h3>Budgets</h3>
      <ul class="budgets">
        {budgets.map((b) => {
          const pct = Math.min(100, Math.round((b.spent / b.cap) * 100));
          const window = b.period === "run"
            ? "per run"
            : b.period === "hours"
            ? `last ${b.hours}h`
            : `this ${b.period}`;
          return (
            <li key={b.name} data-testid="budget" data-name={b.name} data-state={b.state}>
              <span class="budget-name">
                {b.name}{" "}
                <span class="muted">
                  {b.target === null ? b.scope : `${b.scope} ${b.target}`} · {b.metric} · {window}
                  {b.hard ? "" : " · soft"}
                </span>
              </span>
              <span
                class={`budget-bar ${b.state === "over" ? "over" : ""}`}
                role="meter"
                aria-valuemin={0}
                aria-valuemax={b.cap}
                aria-valuenow={b.spent}
                aria-label={`${b.name}: ${b.spent} of ${b.cap}`}
              >
                <span style={{ width: `${pct}%` }} />
              </span>
              <span class="budget-figures" data-testid="budget-figures">
                {budgetAmount(b.spent, b.metric)} of {budgetAmount(b.cap, b.metric)}
                {b.resets_at ? ` · resets ${new Date(b.resets_at).toLocaleString()}` : ""}
              </span>
              {b.period !== "run" && b.scope !== "task" && (
                <BudgetPlot name={b.name} spent={b.spent} metric={b.metric} />
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/**
 * BudgetPlot: a budget's spend over its window against its cap (the ended runs' spend, point by
 * point; the bar above counts the runs in flight too). Fetched again when the spend moves.
 */
function BudgetPlot({ name, spent, metric }: { name: string; spent: number; metric: string }) {
  const [series, setSeries] = useState<BudgetSeries>(null);
  useEffect(() => {
    let live = true;
    api.budgetSeries(name).then((s) => live && setSeries(s), () => live && setSeries(null));
    return () => {
      live = false;
    };
  }, [name, spent]);
  const spec = useMemo((): PlotSpec | null => {
    if (series === null) return null;
    const x = series.at.map((t) => Date.parse(t) / 1000);
    return {
      kind: "lines",
      x,
      xText: (v) => new Date(v * 1000).toLocaleString(),
      format: (v) => budgetAmount(v, metric),
      ...(metric === "cost_usd" ? {} : { steps: WHOLE_STEPS }),
      series: [
        { label: "spent", color: "--accent", values: series.spent },
        { label: "cap", color: "--danger", values: series.at.map(() => series.cap) },
      ],
    };
  }, [series, metric]);
  if (spec === null) return null;
  return (
    <div class="budget-plot" data-testid="budget-plot">
      <Plot spec={spec} testid={`plot-budget-${name}`} />
    </div>
  );
}

/**
 * Held profiles (docs/quotas.md): each profile a dispatcher holds for a rate limit, an
 * exhausted quota or a failed sign-in, until when, why, and a button to release it now.
 */
function Holds() {
  const holds = health.value?.holds ?? [];
  if (holds.length === 0) return null;
  const release = async (profile: string) => {
    if (await attempt(() => api.releaseHold(profile)) !== null) await pollHealth();
  };
  return (
    <section class="stats-panel" data-testid="holds" data-panel="holds">
      <h3>Held profiles</h3>
      <ul class="holds">
        {holds.map((h) => (
          <li key={h.profile} data-testid="hold" data-profile={h.profile} data-kind={h.kind}>
            <span class="budget-name">
              {h.profile}{" "}
              <span class="muted">
                {h.kind === "auth"
                  ? "could not sign in"
                  : h.kind === "quota"
                  ? "quota exhausted"
                  : "rate limited"}
              </span>
            </span>
            <span data-testid="hold-until">
              {h.until === null
                ? "held until released"
                : `held until ${new Date(h.until).toLocaleString()}`}
            </span>
            <span class="muted hold-reason" title={h.reason}>{h.reason}</span>
            <button
              type="button"
              data-testid="hold-release"
              onClick={() =>
                void release(h.profile)}
            >
              Release
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

/**
 * Routines (docs/routines.md): each routine with its schedule, when it fires next (or that it
 * is paused) and when it last fired, with Pause or Resume, and Run now (one occurrence outside
 * its schedule; the click's own key, so a retried request fires it once).
 */
function Routines() {
  const routines = health.value?.routines ?? [];
  const [busy, setBusy] = useState<string | null>(null);
  if (routines.length === 0) return null;
  const act = async (name: string, f: () => Promise<unknown>, done?: (r: unknown) => void) => {
    setBusy(name);
    try {
      const r = await attempt(f);
      if (r !== null) {
        done?.(r);
        await pollHealth();
      }
    } finally {
      setBusy(null);
    }
  };
  const when = (iso: string) => new Date(iso).toLocaleString();
  return (
    <section class="stats-panel" data-testid="routines-panel" data-panel="routines">
      <h3>Routines</h3>
      <ul class="holds">
        {routines.map((r) => (
          <li key={r.name} data-testid="routine" data-name={r.name} data-paused={r.paused}>
            <span class="budget-name">
              {r.name} <span class="muted">{r.cron} ({r.tz})</span>
            </span>
            <span data-testid="routine-when">
              {r.paused
                ? "paused"
                : r.next_at === null
                ? "never fires again"
                : `next ${when(r.next_at)}`}
            </span>
            <span class="muted hold-reason">
              {r.last_at === null ? "never fired" : `last fired ${when(r.last_at)}`}
            </span>
            <button
              type="button"
              data-testid={r.paused ? "routine-resume" : "routine-pause"}
              disabled={busy === r.name}
              onClick={() =>
                void act(
                  r.name,
                  () =>
                    r.paused ? api.resumeRoutine(r.name) : api.pauseRoutine(r.name),
                )}
            >
              {r.paused ? "Resume" : "Pause"}
            </button>
            <button
              type="button"
              data-testid="routine-run"
              title="Fire one occurrence now, outside the schedule (a paused routine too)"
              disabled={busy === r.name}
              onClick={() =>
                void act(
                  r.name,
                  () =>
                    api.runRoutine(r.name, `dashboard-${crypto.randomUUID()}`),
                  (f) => {
                    const n = (f as { tasks: unknown[] }).tasks.length;
                    toast("info", `${r.name} fired: ${n} task${n === 1 ? "" : "s"} created`);
                  },
                )}
            >
              Run now
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function WindowPicker() {
  return (
    <div class="stats-window" role="group" aria-label="window">
      {WINDOWS.map((w) => (
        <button
          type="button"
          key={w.since}
          data-testid={`stats-window-${w.since}`}
          aria-pressed={statsWindow.value === w.since}
          title={`The last ${w.text}, by the ${w.bucket} (UTC)`}
          onClick={() => chooseWindow(w.since)}
        >
          {w.text}
        </button>
      ))}
    </div>
  );
}

function Summary({ data }: { data: SeriesData }) {
  const t = windowTotals(data);
  return (
    <span class="stats-summary muted" data-testid="stats-summary">
      {exact(t.finished)} finished · {exact(t.runs)} run{t.runs === 1 ? "" : "s"}
      {t.runsWithUsage > 0 && ` · ${compact(t.tokens)} tokens`}
      {t.cost !== null && ` · ${cost(t.cost)}`}
    </span>
  );
}

function Panels({ data }: { data: SeriesData }) {
  const per = data.bucket === "hour" ? "per hour" : "per day";
  const usageKnown = data.buckets.some((b) => b.profiles.some((p) => p.runs_with_usage > 0));
  const costKnown = data.buckets.some((b) => b.profiles.some((p) => p.runs_with_cost > 0));
  return (
    <div class="stats-grid">
      <Panel id="finished" title={`Tasks finished ${per}`} table={<FinishedTable data={data} />}>
        <FinishedPlot data={data} />
      </Panel>
      <Panel
        id="queue"
        title="Queue age"
        note={<ReadyNow data={data} />}
        table={<QueueTable data={data} />}
      >
        <QueuePlot data={data} />
      </Panel>
      <Panel id="outcomes" title="Run outcomes per profile" table={<OutcomesTable data={data} />}>
        <OutcomesPlot data={data} />
      </Panel>
      {usageKnown
        ? (
          <>
            <Panel
              id="tokens"
              title={`Tokens per profile ${per}`}
              table={<TokensTable data={data} />}
            >
              <TokensPlot data={data} />
            </Panel>
            <Panel id="cost" title={`Cost per profile ${per}`} table={<CostTable data={data} />}>
              {costKnown
                ? <CostPlot data={data} />
                : (
                  <p class="muted stats-empty" data-testid="stats-no-cost">
                    No run in this window reported a cost (agent CLIs on a subscription do not).
                  </p>
                )}
            </Panel>
          </>
        )
        : (
          <section class="stats-panel" data-testid="stats-panel" data-panel="usage">
            <h3>Tokens and cost</h3>
            <p class="muted stats-empty" data-testid="stats-no-usage">
              No run in this window reported usage: tokens and cost appear here once runs do.
            </p>
          </section>
        )}
    </div>
  );
}

/** Panel is one plot with its title and a "Table" toggle that shows the exact figures. */
function Panel(
  { id, title, note, table, children }: {
    id: string;
    title: string;
    note?: ComponentChildren;
    table: ComponentChildren;
    children: ComponentChildren;
  },
) {
  const [tabular, setTabular] = useState(false);
  return (
    <section class="stats-panel" data-testid="stats-panel" data-panel={id}>
      <div class="stats-panel-head">
        <h3 id={`stats-${id}`}>{title}</h3>
        <button
          type="button"
          class="quiet"
          data-testid="stats-table-toggle"
          aria-pressed={tabular}
          aria-controls={`stats-${id}-body`}
          onClick={() => setTabular(!tabular)}
        >
          {tabular ? "Plot" : "Table"}
        </button>
      </div>
      {note}
      <div id={`stats-${id}-body`} class="stats-body" aria-labelledby={`stats-${id}`}>
        {tabular ? table : children}
      </div>
    </section>
  );
}

// Plots --------------------------------------------------------------------------------------

const STEP_S = { hour: 3600, day: 86_400 } as const;

function timeSpec(data: SeriesData, rest: Omit<PlotSpec, "x" | "step" | "xText">): PlotSpec {
  return {
    x: xs(data),
    step: STEP_S[data.bucket],
    xText: (x) => bucketText(new Date(x * 1000).toISOString(), data.bucket),
    ...rest,
  };
}

function FinishedPlot({ data }: { data: SeriesData }) {
  const spec = useMemo(() =>
    timeSpec(data, {
      kind: "stacked",
      steps: WHOLE_STEPS,
      format: compact,
      series: [{ label: "finished", color: "--ok", values: data.buckets.map((b) => b.finished) }],
    }), [data]);
  return <Plot spec={spec} testid="plot-finished" />;
}

function QueuePlot({ data }: { data: SeriesData }) {
  const spec = useMemo(() =>
    timeSpec(data, {
      kind: "lines",
      format: (v) => waitText(v),
      steps: WAIT_STEPS,
      series: [
        { label: "median", color: "--accent", values: data.buckets.map((b) => b.queue_age.p50_s) },
        { label: "longest", color: "--warn", values: data.buckets.map((b) => b.queue_age.max_s) },
      ],
    }), [data]);
  return <Plot spec={spec} testid="plot-queue" />;
}

function OutcomesPlot({ data }: { data: SeriesData }) {
  const spec = useMemo((): PlotSpec => {
    const rows = outcomeRows(data);
    return {
      kind: "stacked",
      steps: WHOLE_STEPS,
      format: compact,
      x: rows.map((_, i) => i),
      categories: rows.map((r) => profileName(r.profile)),
      series: outcomeSeries(rows),
    };
  }, [data]);
  if (data.profiles.length === 0) {
    return <p class="muted stats-empty">No run ended in this window.</p>;
  }
  return <Plot spec={spec} testid="plot-outcomes" />;
}

function TokensPlot({ data }: { data: SeriesData }) {
  const spec = useMemo(() =>
    timeSpec(data, {
      kind: "stacked",
      format: compact,
      series: perProfile(data, (p) => p.runs_with_usage > 0 ? totalOf(p) : null),
    }), [data]);
  return <Plot spec={spec} testid="plot-tokens" />;
}

function CostPlot({ data }: { data: SeriesData }) {
  const spec = useMemo(() =>
    timeSpec(data, {
      kind: "stacked",
      format: cost,
      axisFormat: axisDollars,
      series: perProfile(data, (p) => p.cost_usd),
    }), [data]);
  return <Plot spec={spec} testid="plot-cost" />;
}

function ReadyNow({ data }: { data: SeriesData }) {
  const r = data.ready_now;
  return (
    <p class="muted small stats-note" data-testid="stats-ready-now">
      {r.count === 0
        ? "No task is ready now."
        : `Ready now: ${exact(r.count)} task${r.count === 1 ? "" : "s"}, waiting ` +
          `${waitText(r.p50_s)} (median), ${waitText(r.max_s)} (longest).`}{" "}
      The plot: how long the runs that started in each bucket had waited in ready.
    </p>
  );
}

// Tables -------------------------------------------------------------------------------------

/** Num is a table cell with a figure; `value` is the API's number, kept for tests and copy. */
function Num({ text, value }: { text: string; value: number | null }) {
  return <td data-value={value === null ? "" : String(value)}>{text}</td>;
}

function Table({ head, children }: { head: string[]; children: ComponentChildren }) {
  return (
    <div class="stats-table-wrap">
      <table class="stats-table" data-testid="stats-table">
        <thead>
          <tr>{head.map((h) => <th scope="col" key={h}>{h}</th>)}</tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

function FinishedTable({ data }: { data: SeriesData }) {
  return (
    <Table head={[`${data.bucket} (UTC)`, "finished"]}>
      {data.buckets.map((b) => (
        <tr key={b.start} data-start={b.start}>
          <th scope="row">{bucketText(b.start, data.bucket)}</th>
          <Num text={exact(b.finished)} value={b.finished} />
        </tr>
      ))}
    </Table>
  );
}

function QueueTable({ data }: { data: SeriesData }) {
  return (
    <Table head={[`${data.bucket} (UTC)`, "runs started", "median wait", "longest wait"]}>
      {data.buckets.map((b) => (
        <tr key={b.start} data-start={b.start}>
          <th scope="row">{bucketText(b.start, data.bucket)}</th>
          <Num text={exact(b.queue_age.count)} value={b.queue_age.count} />
          <Num text={waitText(b.queue_age.p50_s, true)} value={b.queue_age.p50_s} />
          <Num text={waitText(b.queue_age.max_s, true)} value={b.queue_age.max_s} />
        </tr>
      ))}
    </Table>
  );
}

function OutcomesTable({ data }: { data: SeriesData }) {
  const rows = outcomeRows(data);
  const seen = outcomesSeen(rows);
  return (
    <Table head={["profile", "runs", ...seen.map((o) => o.replaceAll("_", " "))]}>
      {rows.map((r) => (
        <tr key={r.profile ?? ""} data-profile={r.profile ?? ""}>
          <th scope="row">{profileName(r.profile)}</th>
          <Num text={exact(r.runs)} value={r.runs} />
          {seen.map((o) => (
            <Num key={o} text={exact(r.outcomes[o] ?? 0)} value={r.outcomes[o] ?? 0} />
          ))}
        </tr>
      ))}
    </Table>
  );
}

function TokensTable({ data }: { data: SeriesData }) {
  return (
    <Table head={[`${data.bucket} (UTC)`, "profile", "runs", "with usage", "in", "cached", "out"]}>
      {usageRows(data).map(({ start, row }) => {
        const t = tokensOf(row);
        const known = row.runs_with_usage > 0;
        return (
          <tr key={`${start} ${row.profile}`} data-start={start} data-profile={row.profile ?? ""}>
            <th scope="row">{bucketText(start, data.bucket)}</th>
            <td>{profileName(row.profile)}</td>
            <Num text={exact(row.runs)} value={row.runs} />
            <Num text={exact(row.runs_with_usage)} value={row.runs_with_usage} />
            <Num text={known ? exact(t.input) : "–"} value={known ? t.input : null} />
            <Num text={known ? exact(t.cached) : "–"} value={known ? t.cached : null} />
            <Num text={known ? exact(t.output) : "–"} value={known ? t.output : null} />
          </tr>
        );
      })}
    </Table>
  );
}

function CostTable({ data }: { data: SeriesData }) {
  return (
    <Table head={[`${data.bucket} (UTC)`, "profile", "runs", "with a cost", "cost"]}>
      {usageRows(data).map(({ start, row }) => (
        <tr key={`${start} ${row.profile}`} data-start={start} data-profile={row.profile ?? ""}>
          <th scope="row">{bucketText(start, data.bucket)}</th>
          <td>{profileName(row.profile)}</td>
          <Num text={exact(row.runs)} value={row.runs} />
          <Num text={exact(row.runs_with_cost)} value={row.runs_with_cost} />
          <Num
            text={row.cost_usd === null ? "–" : exactDollars(row.cost_usd)}
            value={row.cost_usd}
          />
        </tr>
      ))}
    </Table>
  );
}
