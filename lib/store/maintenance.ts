/**
 * Maintenance of a live board: what `kanban gc` may clean up, pruning the events of
 * long-finished tasks, online backups, and the health check behind `kanban doctor`. Each
 * works while dispatchers and workers keep writing to the board.
 */
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import type { Kernel } from "./_kernel.ts";
import { iso, type TaskRow, workspaceString } from "./_rows.ts";
import { ConflictError, corruptError, isCorrupt, KanbanError, ValidationError } from "./errors.ts";
import { checkInvariants } from "./invariants.ts";
import type { Status } from "./transitions.ts";

/** A task is finished when it is done, or archived; `finished_at` is when that happened. */
const FINISHED_BEFORE = `((status = 'done' AND completed_at <= ?1)
  OR (status = 'archived' AND updated_at <= ?1))`;

function cutoffOf(k: Kernel, olderThanMs: number): number {
  if (!Number.isSafeInteger(olderThanMs) || olderThanMs < 0) {
    throw new ValidationError(`Invalid age: ${olderThanMs} ms (expected a whole number >= 0)`);
  }
  return k.now() - olderThanMs;
}

export interface GcCandidate {
  id: string;
  status: "done" | "archived";
  /** Where the task was archived from (null for done tasks). */
  archived_from: Status | null;
  /** `scratch`, `worktree` or `dir:/absolute/path`. */
  workspace: string;
  /** When the task was completed (done) or last changed while archived. */
  finished_at: string;
}

export interface GcCandidates {
  /** Tasks finished at or before this time are candidates. */
  cutoff: string;
  tasks: GcCandidate[];
}

/**
 * gcCandidates lists the tasks finished at least `olderThanMs` ago: archived tasks (by the
 * last change, which is the archiving unless someone edited them since) and done tasks (by
 * completion). The time of an archived task is read from the task, not its events, so that
 * pruning events never changes what gc finds.
 */
export function gcCandidates(k: Kernel, olderThanMs: number): GcCandidates {
  const cutoff = cutoffOf(k, olderThanMs);
  const rows = k.db.all<
    Pick<TaskRow, "id" | "workspace_kind" | "workspace_path" | "archived_from"> & {
      status: "done" | "archived";
      finished_at: number;
    }
  >(
    `SELECT id, status, archived_from, workspace_kind, workspace_path,
       CASE status WHEN 'done' THEN completed_at ELSE updated_at END AS finished_at
     FROM tasks WHERE ${FINISHED_BEFORE} ORDER BY finished_at, id`,
    cutoff,
  );
  return {
    cutoff: iso(cutoff),
    tasks: rows.map((r) => ({
      id: r.id,
      status: r.status,
      archived_from: r.archived_from,
      workspace: workspaceString(r.workspace_kind, r.workspace_path),
      finished_at: iso(r.finished_at),
    })),
  };
}

export interface PruneResult {
  dry_run: boolean;
  cutoff: string;
  /** Finished tasks that had (or would have) events removed. */
  tasks: number;
  /** Events removed (or that would be). */
  events: number;
}

/**
 * The events pruning may delete: those of tasks finished at or before the cutoff (?1),
 * except each task's `created` event and its latest `completed` event (the worker context
 * reads a parent's handoff from it), and except events after the cursor of a subscription
 * that has not ended (a disabled one resumes from its cursor when re-enabled).
 */
const PRUNABLE = `
  WITH finished AS (SELECT id FROM tasks WHERE ${FINISHED_BEFORE}),
  keep AS (
    SELECT min(e.id) AS id FROM task_events e JOIN finished f ON f.id = e.task_id
      WHERE e.kind = 'created' GROUP BY e.task_id
    UNION ALL
    SELECT max(e.id) FROM task_events e JOIN finished f ON f.id = e.task_id
      WHERE e.kind = 'completed' GROUP BY e.task_id
  ),
  horizon AS (
    SELECT coalesce(min(cursor) + 1, 9007199254740991) AS below FROM subscriptions
      WHERE ended_at IS NULL
  )
  SELECT e.id, e.task_id FROM task_events e JOIN finished f ON f.id = e.task_id
  WHERE e.id NOT IN (SELECT id FROM keep) AND e.id < (SELECT below FROM horizon)`;

/** Events deleted per write transaction, so that workers never wait long for the lock. */
const PRUNE_BATCH = 5_000;

/**
 * pruneEvents deletes the events of long-finished tasks (see PRUNABLE), in batches of one
 * short IMMEDIATE transaction each. With `dryRun` it only counts. Call it outside a
 * transaction: it opens its own.
 */
export function pruneEvents(k: Kernel, olderThanMs: number, dryRun: boolean): PruneResult {
  const cutoff = cutoffOf(k, olderThanMs);
  const plan = k.db.read(() =>
    k.db.get<{ events: number; tasks: number }>(
      `SELECT count(*) AS events, count(DISTINCT task_id) AS tasks FROM (${PRUNABLE})`,
      cutoff,
    )!
  );
  let events = plan.events;
  if (!dryRun) {
    events = 0;
    for (;;) {
      const n = k.db.tx(() =>
        k.db.run(
          `DELETE FROM task_events WHERE id IN (SELECT id FROM (${PRUNABLE}) LIMIT ?2)`,
          cutoff,
          PRUNE_BATCH,
        ).changes
      );
      events += n;
      if (n < PRUNE_BATCH) break;
    }
  }
  return { dry_run: dryRun, cutoff: iso(cutoff), tasks: plan.tasks, events };
}

export interface BackupResult {
  /** The board that was copied. */
  source: string;
  /** The new backup file (absolute). */
  path: string;
  bytes: number;
}

/**
 * backup writes a consistent copy of the board to `target` with `VACUUM INTO`, which reads
 * one snapshot (WAL: writers carry on meanwhile) and writes a compact, self-contained file.
 * The copy goes to a temporary file that is synced and then linked into place, so `target`
 * either does not exist or holds a whole backup. An existing `target` is never overwritten.
 * Call it outside a transaction (VACUUM cannot run inside one).
 */
export function backup(k: Kernel, target: string): BackupResult {
  const path = resolve(target);
  const exists = () =>
    new ConflictError(
      "backup_exists",
      `Cannot back up to "${path}": the file exists (a backup never overwrites; remove it or choose another name)`,
    );
  if (path.includes("\0")) {
    // SQLite would cut the name short there and write the copy under another name
    throw new ValidationError(`Cannot back up to "${path}": the path contains a NUL character`);
  }
  if (existsSync(path)) throw exists();
  // A file where a folder should be, no permission: say so, with the path.
  const cannot = (err: unknown) =>
    new KanbanError("cannot_write", `Cannot back up to "${path}": ${(err as Error).message}`);
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw cannot(err);
  }
  const tmp = `${path}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    try {
      k.db.run("VACUUM INTO ?", tmp);
    } catch (err) {
      // a damaged board cannot be copied whole: say so, rather than blame the target
      throw corruptError(k.db.path, err) ?? cannot(err);
    }
    const fd = openSync(tmp, "r+");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, path); // atomic and refuses an existing file, unlike rename
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "EEXIST") throw exists();
      // A filesystem without hard links: rename, having checked again just before.
      if (existsSync(path)) throw exists();
      renameSync(tmp, path);
    }
  } finally {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // a name too long to exist: there is nothing to remove, and the error above tells why
    }
  }
  return { source: k.db.path, path, bytes: statSync(path).size };
}

export interface Finding {
  /** The check that found it, e.g. `integrity_check` or an invariant's name. */
  check: string;
  /** Task ids, run ids or row ids involved (at most 20). */
  ids: (string | number)[];
  message?: string;
  /** How to repair it. */
  hint?: string;
}

export interface DoctorReport {
  /** True when there are no problems (warnings do not count). */
  ok: boolean;
  path: string;
  schema_version: number;
  problems: Finding[];
  warnings: Finding[];
}

export interface DoctorOptions {
  /** An open run whose lease expired longer ago than this is reported (default 15 min). */
  staleAfterMs?: number;
}

export const DEFAULT_STALE_AFTER_MS = 15 * 60_000;

/**
 * The checks of the file itself. A finding of one of them means the file is damaged (and the
 * fix is a backup, not a repair); the board's own checks are then skipped.
 */
export const FILE_CHECKS: readonly string[] = ["integrity_check", "quick_check"];

/** At most this many lines of SQLite's own reports are kept. */
const MAX_LINES = 20;

/** sqliteLines splits one of SQLite's check messages into lines, without its header. */
function sqliteLines(message: string): string[] {
  return message.split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && l !== "ok" && !/^\*\*\* in database \w+ \*\*\*$/.test(l));
}

/**
 * fileFindings runs SQLite's integrity_check. On a damaged file that check may stop with
 * SQLITE_CORRUPT ("database disk image is malformed") rather than report; then each table is
 * checked on its own (`PRAGMA quick_check(TABLE)`), so that the report says which tables are
 * damaged. It throws only errors that are not corruption.
 */
function fileFindings(k: Kernel): Finding[] {
  const found = (check: string, message: string): Finding => ({ check, ids: [], message });
  let stopped: string;
  try {
    return k.db.all<{ integrity_check: string }>(`PRAGMA integrity_check(${MAX_LINES})`)
      .flatMap((r) => sqliteLines(r.integrity_check)).slice(0, MAX_LINES)
      .map((m) => found("integrity_check", m));
  } catch (err) {
    if (!isCorrupt(err)) throw err;
    stopped = (err as Error).message;
  }
  const out: Finding[] = [];
  let tables: string[];
  try {
    tables = k.db.all<{ name: string }>(
      "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name",
    ).map((r) => r.name);
  } catch (err) {
    if (!isCorrupt(err)) throw err;
    return [found("integrity_check", `${stopped}; the schema itself cannot be read`)];
  }
  for (const table of tables) {
    try {
      for (
        const r of k.db.all<{ quick_check: string }>(
          `PRAGMA quick_check("${table.replaceAll('"', '""')}")`,
        )
      ) {
        for (const line of sqliteLines(r.quick_check)) {
          out.push(found("quick_check", `table ${table}: ${line}`));
        }
      }
    } catch (err) {
      if (!isCorrupt(err)) throw err;
      out.push(found("quick_check", `table ${table}: ${(err as Error).message}`));
    }
  }
  if (out.length === 0) out.push(found("integrity_check", stopped));
  return out.slice(0, MAX_LINES);
}

/**
 * doctor checks a board: SQLite's integrity_check and foreign_key_check, the store's
 * invariants (problems), and open runs whose lease expired long ago, which means no
 * dispatcher is ending lost runs (warnings). Read-only: it repairs nothing. Every check is
 * linear in the board (or n log n), so it finishes on boards of any shape.
 *
 * A damaged file (SQLITE_CORRUPT) is a finding, not an error: the report names what SQLite
 * found (FILE_CHECKS), and the board's own checks, which would read the damaged pages, are
 * skipped. Call it outside a transaction: it opens its own (an error of a damaged page ends
 * the transaction it happens in).
 */
export function doctor(k: Kernel, options: DoctorOptions = {}): DoctorReport {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  if (!Number.isSafeInteger(staleAfterMs) || staleAfterMs < 0) {
    throw new ValidationError(`Invalid stale-run age: ${staleAfterMs} ms`);
  }
  const problems = fileFindings(k);
  const warnings: Finding[] = [];
  if (problems.length > 0) {
    problems.push({
      check: "invariants",
      ids: [],
      message: "not checked: the board file is damaged",
    });
  } else {
    k.db.read(() => boardFindings(k, staleAfterMs, problems, warnings));
  }
  return {
    ok: problems.length === 0,
    path: k.db.path,
    schema_version: k.db.schemaVersion(),
    problems,
    warnings,
  };
}

/** boardFindings adds the foreign key and invariant problems and the stale-run warnings. */
function boardFindings(
  k: Kernel,
  staleAfterMs: number,
  problems: Finding[],
  warnings: Finding[],
): void {
  const fks = new Map<string, (string | number)[]>();
  for (
    const fk of k.db.all<{ table: string; rowid: number | null; parent: string }>(
      "PRAGMA foreign_key_check",
    )
  ) {
    const key = `${fk.table} rows point at missing ${fk.parent} rows`;
    const ids = fks.get(key) ?? [];
    if (ids.length < 20 && fk.rowid !== null) ids.push(fk.rowid);
    fks.set(key, ids);
  }
  for (const [message, ids] of fks) problems.push({ check: "foreign_key_check", ids, message });
  for (const v of checkInvariants(k)) problems.push({ check: v.check, ids: v.ids });

  const stale = k.db.all<{ id: number; task_id: string; lease_expires: number }>(
    `SELECT id, task_id, lease_expires FROM task_runs
     WHERE ended_at IS NULL AND lease_expires < ? ORDER BY lease_expires, id LIMIT 20`,
    k.now() - staleAfterMs,
  );
  if (stale.length > 0) {
    const oldest = stale[0]!;
    warnings.push({
      check: "open runs whose lease expired long ago",
      ids: stale.map((r) => r.id),
      message: `${stale.length} open run(s) with a lease expired over ${
        Math.round(staleAfterMs / 60_000)
      } min ago (oldest: run ${oldest.id} of task ${oldest.task_id}, expired ${
        iso(oldest.lease_expires)
      })`,
      hint: "no dispatcher is ending lost runs: start `kanban dispatch` (or run " +
        "`kanban dispatch --once`), which ends them and requeues their tasks; or move each " +
        "task by hand with `kanban block ID REASON` or `kanban cancel ID`",
    });
  }
}
