/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * Tokens and cost: a run's line in the drawer, and the summary of the last 24 h in the health
 * bar with its breakdown per profile. Tokens read "in / cached / out": `in` is the input that
 * did not come from a cache (fresh input and what was written to the cache), `cached` what was
 * read from one, so in + cached + out is every token. A cost shows only where the agent CLI
 * reported one: an unknown cost is never "$0".
 */
import { signal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { Run, Usage, UsageStats, UsageTotals } from "./api.ts";
import { usage, USAGE_WINDOW, usageError } from "./live.ts";
import { compactCount, dollars, sumRuns, totalTokens } from "../store/usage_text.ts";

/** Whether the per-profile breakdown is open (Esc closes it: app.tsx). */
export const usageOpen = signal(false);

const exact = (n: number) => n.toLocaleString("en-US");

interface Split {
  input: number;
  cached: number;
  output: number;
}

/** split is the in / cached / out of a run or a sum (the kinds do not overlap: usage.ts). */
function split(u: Usage | UsageTotals): Split {
  return {
    input: u.input_tokens + u.cache_write_tokens,
    cached: u.cache_read_tokens,
    output: u.output_tokens,
  };
}

function tokensTitle(u: Usage | UsageTotals): string {
  const reasoning = u.reasoning_tokens ? ` (${exact(u.reasoning_tokens)} reasoning)` : "";
  return [
    `in: ${exact(u.input_tokens)} fresh input, ${exact(u.cache_write_tokens)} written to the cache`,
    `cached: ${exact(u.cache_read_tokens)} read from the cache`,
    `out: ${exact(u.output_tokens)} output${reasoning}`,
  ].join("\n");
}

/** Tokens is "12.4k in · 1.2M cached · 820 out". */
function Tokens({ u }: { u: Usage | UsageTotals }) {
  const s = split(u);
  return (
    <span class="tokens" data-testid="tokens" title={tokensTitle(u)}>
      {compactCount(s.input)} in · {compactCount(s.cached)} cached · {compactCount(s.output)} out
    </span>
  );
}

/** RunUsage is a run's line in the drawer: its tokens, cost and models; nothing while open. */
export function RunUsage({ run }: { run: Run }) {
  if (run.open) return null;
  const u = run.usage;
  if (u === null) {
    return (
      <div
        class="run-usage muted small"
        data-testid="run-usage"
        data-known="false"
        title="Neither the agent CLI's output nor the worker said what this run used"
      >
        usage unknown
      </div>
    );
  }
  const source = u.source === "output"
    ? "read from the agent CLI's output"
    : "reported by the worker";
  return (
    <div class="run-usage small" data-testid="run-usage" data-known="true">
      <Tokens u={u} />
      {u.cost_usd !== undefined
        ? <span class="cost" data-testid="run-cost">{dollars(u.cost_usd)}</span>
        : <span class="muted" title="The agent CLI did not report a cost">no cost</span>}
      {u.models.length > 0 && <span class="muted">{u.models.join(", ")}</span>}
      {u.turns !== undefined && <span class="muted">{u.turns} turns</span>}
      <span class="muted" title={`Usage ${source}`}>{u.source}</span>
    </div>
  );
}

/** TaskUsage sums a task's runs for the drawer's Runs header (with two runs or more). */
export function TaskUsage({ runs }: { runs: readonly Run[] }) {
  const sum = sumRuns(runs.map((r) => r.usage));
  if (sum.known === 0 || runs.length < 2) return null; // one run: its own line says it
  return (
    <span class="muted small" data-testid="task-usage">
      {compactCount(sum.tokens)} tokens{sum.cost_usd !== null ? ` · ${dollars(sum.cost_usd)}` : ""}
      {sum.known < runs.filter((r) => !r.open).length ? " (some runs unknown)" : ""}
    </span>
  );
}

/** "24 h": the window as the page writes it. */
const WINDOW_TEXT = USAGE_WINDOW.replace(/h$/, " h");

/** costNote says what a summed cost covers ("" when every run in the sum reported one). */
function costNote(t: UsageTotals): string {
  if (t.runs_with_cost === 0) return "no run reported a cost";
  if (t.runs_with_cost < t.runs) return `cost reported by ${t.runs_with_cost} of ${t.runs} runs`;
  return "";
}

/**
 * UsageSummary is the health bar's "24 h 1.2M tokens · $3.42", a button that opens the
 * breakdown per profile. It follows the tenant filter.
 */
export function UsageSummary() {
  const box = useRef<HTMLDivElement>(null);
  const open = usageOpen.value;
  useEffect(() => {
    if (!open) return;
    const outside = (e: MouseEvent) => {
      if (!box.current?.contains(e.target as Node)) usageOpen.value = false;
    };
    document.addEventListener("mousedown", outside);
    return () => document.removeEventListener("mousedown", outside);
  }, [open]);
  const u = usage.value;
  if (u === null) {
    return usageError.value === null
      ? null
      : (
        <span class="usage muted" data-testid="usage-summary" title={usageError.value}>
          usage unavailable
        </span>
      );
  }
  const t = u.stats.total;
  const what = t.runs === 0
    ? "no runs"
    : t.runs_with_usage === 0
    ? "usage unknown"
    : `${compactCount(totalTokens(t))} tokens`;
  const note = costNote(t);
  return (
    <div class="usage" ref={box}>
      <button
        type="button"
        class="usage-summary"
        data-testid="usage-summary"
        aria-expanded={open}
        aria-controls="usage-panel"
        title={[
          `Runs that ended in the last ${WINDOW_TEXT}${u.tenant ? ` (tenant ${u.tenant})` : ""}`,
          ...(note ? [note] : []),
          "Click for each profile",
        ].join("\n")}
        onClick={() => (usageOpen.value = !open)}
      >
        <span class="muted">{WINDOW_TEXT}</span> <span data-testid="usage-tokens">{what}</span>
        {t.cost_usd !== null && (
          <span data-testid="usage-cost">
            {" · "}
            {dollars(t.cost_usd)}
          </span>
        )}
      </button>
      {open && <UsagePanel tenant={u.tenant} stats={u.stats} />}
    </div>
  );
}

function Row({ name, t, testid }: { name: string; t: UsageTotals; testid: string }) {
  const s = split(t);
  const known = t.runs_with_usage > 0;
  const unknown = <td class="muted" title="no run said what it used">–</td>;
  return (
    <tr data-testid={testid} data-name={name}>
      <th scope="row">{name}</th>
      <td>{t.runs}</td>
      {known ? <td title={tokensTitle(t)}>{compactCount(s.input)}</td> : unknown}
      {known ? <td>{compactCount(s.cached)}</td> : unknown}
      {known ? <td>{compactCount(s.output)}</td> : unknown}
      {t.cost_usd === null
        ? <td class="muted" title="no run reported a cost">–</td>
        : (
          <td data-testid="usage-row-cost" title={costNote(t) || undefined}>
            {dollars(t.cost_usd)}
            {t.runs_with_cost < t.runs ? "*" : ""}
          </td>
        )}
    </tr>
  );
}

function UsagePanel({ tenant, stats }: { tenant: string; stats: UsageStats }) {
  const t = stats.total;
  const unknown = t.runs - t.runs_with_usage;
  return (
    <div
      class="usage-panel"
      id="usage-panel"
      data-testid="usage-panel"
      role="dialog"
      aria-label="usage by profile"
    >
      <h3>
        Last {WINDOW_TEXT}
        {tenant ? <span class="muted">· tenant {tenant}</span> : null}
      </h3>
      {t.runs === 0 ? <p class="muted">No run ended in the last {WINDOW_TEXT}.</p> : (
        <table>
          <thead>
            <tr>
              <th scope="col">Profile</th>
              <th scope="col">Runs</th>
              <th scope="col" title="fresh input and cache writes">In</th>
              <th scope="col" title="read from the cache">Cached</th>
              <th scope="col">Out</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {stats.by_profile.map((p) => (
              <Row
                key={p.profile ?? ""}
                name={p.profile ?? "(no profile)"}
                t={p}
                testid="usage-row"
              />
            ))}
          </tbody>
          {stats.by_profile.length > 1 && (
            <tfoot>
              <Row name="All" t={t} testid="usage-total" />
            </tfoot>
          )}
        </table>
      )}
      <p class="muted small">
        Tokens and cost of the runs that ended in the window.
        {unknown > 0 ? ` ${unknown} of ${t.runs} runs did not say what they used.` : ""}{" "}
        Costs only where the agent CLI reported one
        {t.runs_with_cost > 0 && t.runs_with_cost < t.runs ? " (*: not every run did)" : ""}.
      </p>
    </div>
  );
}
