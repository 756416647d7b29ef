/** Text renderers for people (the `--json` shapes are the store's types, printed as is). */
import {
  argvText,
  compactCount,
  dollars,
  GATE_ROUNDS_DEFAULT,
  GATE_TIMEOUT_DEFAULT_MS,
  type GateResult,
  priorityText,
  type ReviewState,
  type Run,
  sumRuns,
  type Task,
  type TaskDetail,
  type TaskSummary,
  totalTokens,
  type UsageTotals,
} from "../store/mod.ts";
import { formatDuration } from "../config/duration.ts";

/** table aligns rows into columns; the last column is not padded. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => widths[i] = Math.max(widths[i] ?? 0, [...cell].length));
  }
  return rows.map((row) =>
    row.map((cell, i) =>
      i === row.length - 1 ? cell : cell + " ".repeat(widths[i]! - [...cell].length)
    ).join("  ").trimEnd()
  ).join("\n");
}

function oneLine(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function taskRows(tasks: TaskSummary[]): string {
  if (tasks.length === 0) return "No tasks.";
  return table([
    ["ID", "STATUS", "PRI", "ASSIGNEE", "TITLE"],
    ...tasks.map((
      t,
    ) => [t.id, statusText(t), priorityText(t.priority), t.assignee ?? "-", oneLine(t.title)]),
  ]);
}

/** statusText is a task's status, with the kind of its latest block when it has one. */
function statusText(t: Pick<TaskSummary, "status" | "block_kind">): string {
  return t.block_kind === null ? t.status : `${t.status} (${t.block_kind})`;
}

/**
 * blockNote says where a block sent a task, for the line `kanban block` prints: the reason
 * (needs_input, triage), the task waited on, the retry time, or the profile now assigned.
 */
export function blockNote(
  t: Pick<Task, "block_kind" | "blocked_reason" | "blocked_on" | "retry_after" | "assignee">,
): string {
  if (t.blocked_reason !== null) return `${t.block_kind}: ${t.blocked_reason}`;
  switch (t.block_kind) {
    case "dependency":
      return `dependency: waits for ${t.blocked_on}`;
    case "transient":
      return `transient: retried after ${t.retry_after}`;
    case "capability":
      return `capability: for ${t.assignee}`;
    default:
      return `${t.block_kind}`;
  }
}

/** taskLine is the one-line confirmation printed after a change. */
export function taskLine(t: Pick<Task, "id" | "status" | "title">): string {
  return `${t.id}  ${t.status}  ${oneLine(t.title, 60)}`;
}

function duration(ms: number | null): string {
  if (ms === null) return "-";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ""}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** cost writes a reported cost, "-" when unknown (never $0 for "not reported"). */
function cost(usd: number | null | undefined): string {
  return usd === null || usd === undefined ? "-" : dollars(usd);
}

export function runRows(runs: Run[]): string {
  if (runs.length === 0) return "No runs.";
  return table([
    ["RUN", "TASK", "PROFILE", "STARTED", "TOOK", "OUTCOME", "TOKENS", "COST", "SUMMARY / ERROR"],
    ...runs.map((r) => [
      String(r.id),
      r.task_id,
      r.profile ?? "-",
      r.started_at.replace("T", " ").slice(0, 19),
      r.open ? "running" : duration(r.duration_ms),
      r.outcome ?? "(open)",
      r.usage ? compactCount(totalTokens(r.usage)) : "-",
      cost(r.usage?.cost_usd),
      oneLine(r.summary ?? r.error ?? "", 60),
    ]),
  ]);
}

/** usageRows is a table of usage totals, one row per key (profile, tenant, board). */
export function usageRows(label: string, rows: (UsageTotals & { key: string })[]): string {
  return table([
    [label, "RUNS", "WITH USAGE", "INPUT", "CACHE READ", "CACHE WRITE", "OUTPUT", "COST"],
    ...rows.map((r) => [
      r.key,
      String(r.runs),
      String(r.runs_with_usage),
      compactCount(r.input_tokens),
      compactCount(r.cache_read_tokens),
      compactCount(r.cache_write_tokens),
      compactCount(r.output_tokens),
      r.cost_usd === null
        ? "-"
        : `${dollars(r.cost_usd)}${
          r.runs_with_cost < r.runs_with_usage ? ` (${r.runs_with_cost} runs)` : ""
        }`,
    ]),
  ]);
}

/** usedBy sums what a task's runs used: "12.4k tokens, $0.0123 (2 of 3 runs)"; null if none. */
function usedBy(runs: Run[]): string | null {
  const sum = sumRuns(runs.map((r) => r.usage));
  if (sum.known === 0) return null;
  const of = sum.known === runs.length ? "" : ` (${sum.known} of ${runs.length} runs)`;
  const cost = sum.cost_usd === null ? "" : `, ${dollars(sum.cost_usd)}`;
  return `${compactCount(sum.tokens)} tokens${cost}${of}`;
}

export function taskDetail(
  d: TaskDetail & {
    waiting_on: { id: string; status: string }[];
    review?: ReviewState;
    gate_result?: GateResult;
  },
): string {
  const t = d.task;
  const out = [`${t.id}  ${t.title}`, ""];
  const field = (k: string, v: string | number | null | undefined) => {
    if (v !== null && v !== undefined && v !== "") out.push(`  ${(k + ":").padEnd(14)}${v}`);
  };
  field("status", t.status);
  field("assignee", t.assignee ?? "-");
  field("priority", priorityText(t.priority));
  field("tenant", t.tenant);
  field("workspace", t.workspace);
  field("skills", t.skills.join(", "));
  field("needs", t.needs.join(", "));
  field("max runtime", t.max_runtime_seconds ? `${t.max_runtime_seconds}s` : null);
  field("not before", t.not_before);
  field("review", t.review_required ? "a person approves" : null);
  field("reviewer", reviewerText(t, d.review));
  field("gate", gateText(t.gate));
  field("last gate", d.gate_result === undefined ? null : gateResultText(d.gate_result));
  field("created", `${t.created_at} by ${t.created_by}`);
  field("completed", t.completed_at);
  field("failures", t.consecutive_failures || null);
  field("used", usedBy(d.runs));
  field("retry after", t.retry_after);
  field("last error", t.last_error);
  field("blocked", t.blocked_reason);
  field("block kind", t.block_kind);
  field("blocked on", t.blocked_on);
  const counts = Object.entries(t.block_counts).map(([kind, n]) => `${kind} ${n}`);
  field("blocks", counts.join(", "));
  field("result", t.result);
  field("key", t.idempotency_key);
  if (d.waiting_on.length > 0) {
    field("waiting on", d.waiting_on.map((p) => `${p.id} (${p.status})`).join(", "));
  }
  if (t.body.trim() !== "") out.push("", t.body.trimEnd());
  if (d.parents.length > 0) {
    out.push("", "Parents:", ...d.parents.map((p) => `  ${taskLine(p)}`));
  }
  if (d.children.length > 0) {
    out.push("", "Children:", ...d.children.map((c) => `  ${taskLine(c)}`));
  }
  if (d.runs.length > 0) {
    out.push("", "Runs:", ...runRows(d.runs).split("\n").map((l) => `  ${l}`));
    for (const r of d.runs) {
      if (r.created_tasks.length === 0) continue;
      out.push(`  run ${r.id} created:`, ...r.created_tasks.map((c) => `    ${taskLine(c)}`));
    }
  }
  if (d.comments.length > 0) {
    out.push("", "Comments:");
    for (const c of d.comments) {
      out.push(`  ${c.author} at ${c.created_at}:`, ...c.body.split("\n").map((l) => `    ${l}`));
    }
  }
  if (d.events.length > 0) {
    out.push("", "Events:");
    for (const e of d.events) {
      const to = typeof e.data["to"] === "string" ? ` -> ${e.data["to"]}` : "";
      // a routine's task says which occurrence made it
      const at = typeof e.data["occurrence"] === "string" ? ` at ${e.data["occurrence"]}` : "";
      out.push(
        `  ${e.at}  ${e.kind}${to}${at}  (${e.actor}${e.run_id ? `, run ${e.run_id}` : ""})`,
      );
    }
  }
  return out.join("\n");
}

/** heldLine is a report's answer: the task, and that its gate holds it when it does. */
export function heldLine(
  t: Pick<Task, "id" | "status" | "title"> & { gate_pending?: true },
): string {
  return t.gate_pending
    ? `${taskLine(t)}  (completed: its gate runs once this worker exits)`
    : taskLine(t);
}

/** gateText is a task's completion gate with its time limit and rounds (gates.ts). */
export function gateText(g: Task["gate"]): string | null {
  if (g === null) return null;
  if (g.argv.length === 0) return "none (not even its profile's)";
  const timeout = formatDuration(Math.round((g.timeout_ms ?? GATE_TIMEOUT_DEFAULT_MS) / 1000));
  return `${argvText(g.argv)}  (time limit ${timeout}, ${g.rounds ?? GATE_ROUNDS_DEFAULT} rounds)`;
}

/** gateResultText says how a task's last gate went, or that it waits to run. */
export function gateResultText(r: GateResult): string {
  const round = `round ${r.round} of ${r.rounds}`;
  if (r.state === "pending") {
    return `pending (${round}): runs once its worker (run ${r.run ?? "?"}) exits`;
  }
  const exit = r.exit_code === null ? "no exit code" : `exit code ${r.exit_code}`;
  const took = r.duration_ms === null ? "" : `, ${(r.duration_ms / 1000).toFixed(1)}s`;
  return `${r.state} in ${round} (${exit}${took}) at ${r.at}`;
}

/** reviewerText says who reviews a task's work and where its review stands (reviews.ts). */
export function reviewerText(
  t: Pick<Task, "reviewer" | "review_rounds">,
  r: ReviewState | undefined,
): string | null {
  if (r === undefined || r.state === "none") {
    return t.reviewer === null ? null : `${t.reviewer} (up to ${t.review_rounds ?? 3} rounds)`;
  }
  const who = r.reviewer ?? "a person";
  const round = `round ${r.round} of ${r.rounds}`;
  if (r.state === "changes") {
    return `${who}: changes requested in ${round}, back with ${r.implementer ?? "its implementer"}`;
  }
  return r.by === "person"
    ? `${round} done by ${who}: waits for a person`
    : `${who}: reviewing, ${round}`;
}
