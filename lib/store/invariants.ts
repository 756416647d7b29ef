/**
 * The store's invariants, checked by SQL over the whole board. The property test runs this
 * after every step; `kanban doctor` will run it on a live board. An empty list means healthy.
 */
import type { Kernel } from "./_kernel.ts";
import { PARENT_SATISFIED } from "./readiness.ts";
import { STATUSES } from "./transitions.ts";

interface Check {
  name: string;
  sql: string;
}

const CHECKS: Check[] = [
  {
    name: "a task points at a run that is not its own open run",
    sql: `SELECT t.id FROM tasks t LEFT JOIN task_runs r ON r.id = t.current_run_id
          WHERE t.current_run_id IS NOT NULL
            AND (r.id IS NULL OR r.ended_at IS NOT NULL OR r.task_id <> t.id)`,
  },
  {
    name: "an open run that its task does not point at",
    sql: `SELECT r.id FROM task_runs r JOIN tasks t ON t.id = r.task_id
          WHERE r.ended_at IS NULL AND (t.current_run_id IS NULL OR t.current_run_id <> r.id)`,
  },
  {
    name: "a lease on a task that is not running",
    sql: `SELECT r.id FROM task_runs r JOIN tasks t ON t.id = r.task_id
          WHERE r.lease_expires IS NOT NULL AND t.status <> 'running'`,
  },
  {
    name: "a running task without a run",
    sql: "SELECT id FROM tasks WHERE status = 'running' AND current_run_id IS NULL",
  },
  {
    name: "an ended run without an outcome",
    sql: "SELECT id FROM task_runs WHERE ended_at IS NOT NULL AND outcome IS NULL",
  },
  {
    name: "a todo task whose parents are all done",
    sql: `SELECT t.id FROM tasks t WHERE t.status = 'todo' AND NOT EXISTS (
            SELECT 1 FROM task_links l JOIN tasks p ON p.id = l.parent_id
            WHERE l.child_id = t.id AND NOT ${PARENT_SATISFIED})`,
  },
  {
    name: "a ready or scheduled task with an unfinished parent",
    sql: `SELECT t.id FROM tasks t WHERE t.status IN ('ready', 'scheduled') AND EXISTS (
            SELECT 1 FROM task_links l JOIN tasks p ON p.id = l.parent_id
            WHERE l.child_id = t.id AND NOT ${PARENT_SATISFIED})`,
  },
  {
    name: "a task with an unknown status",
    sql: `SELECT id FROM tasks WHERE status NOT IN (${STATUSES.map((s) => `'${s}'`).join(", ")})`,
  },
  {
    name: "an event that names a missing task",
    sql: `SELECT e.id FROM task_events e LEFT JOIN tasks t ON t.id = e.task_id
          WHERE e.task_id IS NOT NULL AND t.id IS NULL`,
  },
  {
    name: "an event that names a missing run, or a run of another task",
    sql: `SELECT e.id FROM task_events e LEFT JOIN task_runs r ON r.id = e.run_id
          WHERE e.run_id IS NOT NULL AND (r.id IS NULL OR r.task_id IS NOT e.task_id)`,
  },
  {
    name: "a task that depends on itself through a cycle",
    sql: `WITH RECURSIVE up(start, id) AS (
            SELECT child_id, parent_id FROM task_links
            UNION SELECT up.start, l.parent_id FROM task_links l JOIN up ON l.child_id = up.id)
          SELECT DISTINCT start FROM up WHERE start = id`,
  },
  {
    name: "a done task without a completion time",
    sql: "SELECT id FROM tasks WHERE status = 'done' AND completed_at IS NULL",
  },
];

export interface Violation {
  check: string;
  ids: (string | number)[];
}

/** checkInvariants runs every check; each violation names the check and up to 20 ids. */
export function checkInvariants(k: Kernel): Violation[] {
  const out: Violation[] = [];
  for (const c of CHECKS) {
    const rows = k.db.all<Record<string, string | number>>(`${c.sql} LIMIT 20`);
    if (rows.length > 0) {
      out.push({ check: c.name, ids: rows.map((r) => Object.values(r)[0]!) });
    }
  }
  return out;
}

/** integrityCheck runs SQLite's own integrity and foreign key checks. */
export function integrityCheck(k: Kernel): string[] {
  const problems = k.db.all<{ integrity_check: string }>("PRAGMA integrity_check")
    .map((r) => r.integrity_check).filter((m) => m !== "ok");
  for (const fk of k.db.all<Record<string, unknown>>("PRAGMA foreign_key_check")) {
    problems.push(`foreign key: ${JSON.stringify(fk)}`);
  }
  return problems;
}
