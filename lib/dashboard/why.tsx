/// <reference lib="dom" />
/** @jsxImportSource preact */
/**
 * The drawer's "why it waits" callout: for a todo, scheduled or ready task, the reasons it is
 * not running (GET /api/v1/tasks/{id}/why, lib/store/why.ts), one line each, loaded again
 * whenever the drawer's task is.
 */
import { useEffect, useState } from "preact/hooks";
import { api, type Detail, type Why } from "./api.ts";

/** The statuses whose tasks wait for the dispatcher, which the callout explains. */
const EXPLAINED = new Set(["todo", "scheduled", "ready"]);

/** WhyWaiting shows why the drawer's task is not running, or nothing for other statuses. */
export function WhyWaiting({ detail }: { detail: Detail }) {
  const { id, status } = detail.task;
  const [why, setWhy] = useState<Why | null>(null);
  useEffect(() => {
    if (!EXPLAINED.has(status)) return setWhy(null);
    let current = true;
    api.why(id).then((w) => current && setWhy(w), () => current && setWhy(null));
    return () => {
      current = false;
    };
  }, [detail]);
  if (why === null || why.task !== id || !EXPLAINED.has(status)) return null;
  return (
    <div class="callout why" data-testid="drawer-why">
      <strong>Why it waits</strong>
      {why.reasons.length === 0 ? <div data-testid="why-none">{why.summary}</div> : (
        <ul>
          {why.reasons.map((r) => (
            <li key={r.code} data-testid={`why-${r.code}`}>
              <code>{r.code}</code> {r.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
