/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * The drawer's "Completion gate" section (docs/gates.md): the task's gate (its command as a
 * shell would quote it, its time limit and rounds) and how its last gate went (pending, passed
 * or failed, round N of M, exit code, when), a failed gate's output folded in a <details>.
 * Everything comes from the task's detail: `task.gate`, `gate_result`, and the output that the
 * `gate_failed` event among its events carries.
 */
import { formatDuration } from "../config/duration.ts";
import { argvText, GATE_ROUNDS_DEFAULT, GATE_TIMEOUT_DEFAULT_MS } from "../store/gate_text.ts";
import type { Detail, TaskEvent } from "./api.ts";
import { ago } from "./card.tsx";

type GateResult = NonNullable<Detail["gate_result"]>;

/** The event each state of gate_result is read from (lib/store/gates.ts lastGate). */
const EVENT_OF: Record<GateResult["state"], string> = {
  pending: "gate_pending",
  passed: "gate_passed",
  failed: "gate_failed",
};

/**
 * lastGateEvent is the event gate_result was read from, when the drawer's events (the newest
 * 200) still hold it: the newest gate event, if it is of the result's kind.
 */
function lastGateEvent(detail: Detail, result: GateResult): TaskEvent | null {
  const kinds = Object.values(EVENT_OF);
  const e = detail.events.findLast((e) => kinds.includes(e.kind));
  return e !== undefined && e.kind === EVENT_OF[result.state] ? e : null;
}

/** commandText is the gate's command line, or why there is none. */
function commandText(gate: Detail["task"]["gate"]): string {
  if (gate === null) return "none yet (a claim copies its profile's)";
  if (gate.argv.length === 0) return "none (not even its profile's)";
  return argvText(gate.argv);
}

/** resultText says how the last gate went, as `kanban show` does, without the time. */
function resultText(r: GateResult, timedOut: boolean): string {
  const round = `round ${r.round} of ${r.rounds}`;
  if (r.state === "pending") {
    return `pending (${round}): runs once its worker${
      r.run === null ? "" : ` (run ${r.run})`
    } exits`;
  }
  const exit = timedOut
    ? "timed out"
    : r.exit_code === null
    ? "no exit code"
    : `exit code ${r.exit_code}`;
  const took = r.duration_ms === null ? "" : `, ${(r.duration_ms / 1000).toFixed(1)} s`;
  return `${r.state} in ${round} (${exit}${took})`;
}

/** The badge of each state: the colours of a run's outcomes. */
const BADGE: Record<GateResult["state"], string> = {
  pending: "outcome-open",
  passed: "outcome-completed",
  failed: "outcome-failed",
};

/**
 * Gate shows the drawer task's completion gate and its last result; nothing for a task that has
 * neither (no gate, or `[]`: none, and no gate ever ran).
 */
export function Gate({ detail }: { detail: Detail }) {
  const { gate } = detail.task;
  const result = detail.gate_result;
  const hasGate = gate !== null && gate.argv.length > 0;
  if (!hasGate && result === undefined) return null;
  const event = result === undefined ? null : lastGateEvent(detail, result);
  const output = typeof event?.data["output"] === "string" ? event.data["output"] : null;
  const timedOut = event?.data["timed_out"] === true;
  const limit = gate?.timeout_ms ?? null;
  return (
    <section class="section gate" data-testid="drawer-gate">
      <header>
        <h3>Completion gate</h3>
        {result !== undefined && (
          <span class={`badge ${BADGE[result.state]}`} data-testid="gate-state">
            {result.state}
          </span>
        )}
      </header>
      <code class="gate-command" data-testid="gate-command">{commandText(gate)}</code>
      {hasGate && (
        <div class="muted small" data-testid="gate-limits">
          time limit {formatDuration(Math.round((limit ?? GATE_TIMEOUT_DEFAULT_MS) / 1000))}
          {limit === null ? " (the default)" : ""} · {gate.rounds ?? GATE_ROUNDS_DEFAULT} rounds
          {gate.rounds === null ? " (the default)" : ""}
        </div>
      )}
      {result !== undefined && (
        <div
          class={`callout${result.state === "failed" ? " error" : ""}`}
          data-testid="gate-result"
          data-state={result.state}
        >
          <strong>Last gate:</strong> {resultText(result, timedOut)}{" "}
          <span class="muted" title={result.at}>{ago(result.at)} ago</span>
          {result.state === "failed" && (
            <details class="gate-output" data-testid="gate-output">
              <summary>Output</summary>
              {output !== null
                ? <pre>{output.trimEnd() === "" ? "(no output)" : output}</pre>
                : (
                  <p class="muted small">
                    Older than the activity shown here: the comment by kanban-gate quotes it.
                  </p>
                )}
            </details>
          )}
        </div>
      )}
    </section>
  );
}
