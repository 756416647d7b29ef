/**
 * Maintenance of a live board: what `kanban gc` may clean up, pruning the events of
 * long-finished tasks, online backups, and the health check behind `kanban doctor`. Each
 * works while dispatchers and workers keep writing to the board. Those that run several
 * transactions (prune, backup, doctor) take the Driver and sequence them; none of them may
 * be called inside a transaction.
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
import { iso, workspaceString } from "./_rows.ts";
import type { Driver, Queries } from "./driver.ts";
import { ConflictError, KanbanError, ValidationError } from "./errors.ts";
import { checkInvariants } from "./invariants.ts";
import type { Clock } from "./types.ts";
import type { Status } from "./transitions.ts";

/** cutoffOf is the time `olderThanMs` before now: tasks finished at or before it qualify. */
export function cutoffOf(now: Clock, olderThanMs: number): number {
  if (!Number.isSafeInteger(olderThanMs) || olderThanMs < 0) {
    throw new ValidationError(`Invalid age: ${olderThanMs} ms (expected a whole number >= 0)`);
  }
  return now() - olderThanMs;
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
export async function gcCandidates(k: Kernel, olderThanMs: number): Promise<GcCandidates> {
  const cutoff = cutoffOf(k.now, olderThanMs);
  const rows = await k.q.tasksFinishedBefore(cutoff);
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

/** Events deleted per write transaction, so that workers never wait long for the lock. */
const PRUNE_BATCH = 5_000;

/**
 * pruneEvents deletes the events of long-finished tasks: those of tasks finished at least
 * `olderThanMs` ago, except each task's `created` event and its latest `completed` event (the
 * worker context reads a parent's handoff from it), and except events after the cursor of a
 * subscription that has not ended (a disabled one resumes from its cursor when re-enabled).
 * It deletes in batches of one short write transaction each; with `dryRun` it only counts.
 * Call it outside a transaction: it opens its own.
 */
export async function pruneEvents(
  driver: Driver,
  now: Clock,
  olderThanMs: number,
  dryRun: boolean,
): Promise<PruneResult> {
  const cutoff = cutoffOf(now, olderThanMs);
  const plan = await driver.read((q) => q.prunableEvents(cutoff));
  let events = plan.events;
  if (!dryRun) {
    events = 0;
    for (;;) {
      const n = await driver.tx((q) => q.eventsPrune(cutoff, PRUNE_BATCH));
      events += n;
      if (n < PRUNE_BATCH) break;
    }
  }
  return { dry_run: dryRun, cutoff: iso(cutoff), tasks: plan.tasks, events };
}

/** What pruneAttachments removed (or would remove). */
export interface PruneAttachmentsResult {
  attachments: number;
  bytes: number;
}

/**
 * pruneAttachments deletes the attachments of tasks archived at least `olderThanMs` ago (they
 * go with the task's workspace and logs, in `kanban gc`), in batches of one short write
 * transaction each; with `dryRun` it only counts. Call it outside a transaction.
 */
export async function pruneAttachments(
  driver: Driver,
  now: Clock,
  olderThanMs: number,
  dryRun: boolean,
): Promise<PruneAttachmentsResult> {
  const cutoff = cutoffOf(now, olderThanMs);
  const plan = await driver.read((q) => q.attachmentsArchivedTotals(cutoff));
  if (dryRun || plan.n === 0) return { attachments: plan.n, bytes: plan.bytes };
  let attachments = 0;
  for (let i = 0; i <= plan.n; i++) { // bounded: each pass deletes at least one, or ends
    const n = await driver.tx((q) => q.attachmentsArchivedDelete(cutoff, ATTACHMENT_PRUNE_BATCH));
    attachments += n;
    if (n < ATTACHMENT_PRUNE_BATCH) break;
  }
  return { attachments, bytes: plan.bytes };
}

/** Attachments deleted per write transaction (each may be megabytes). */
const ATTACHMENT_PRUNE_BATCH = 20;

export interface BackupResult {
  /** The board that was copied. */
  source: string;
  /** The new backup file (absolute). */
  path: string;
  bytes: number;
}

/**
 * backup writes a consistent copy of the board to `target`: the driver's backupTo reads one
 * snapshot while writers carry on, and writes a compact, self-contained file. The copy goes
 * to a temporary file that is synced and then linked into place, so `target` either does not
 * exist or holds a whole backup. An existing `target` is never overwritten. Call it outside a
 * transaction (SQLite's copy cannot run inside one).
 */
export async function backup(driver: Driver, target: string): Promise<BackupResult> {
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
      await driver.exclusive((q) => q.backupTo(tmp));
    } catch (err) {
      // a damaged board is a CorruptBoardError already: say so, rather than blame the target
      throw err instanceof KanbanError ? err : cannot(err);
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
  return { source: driver.location, path, bytes: statSync(path).size };
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

/** At most this many lines of the file checks' reports are kept. */
const MAX_LINES = 20;

/**
 * doctor checks a board: SQLite's integrity_check and foreign_key_check, the store's
 * invariants (problems), and open runs whose lease expired long ago, which means no
 * dispatcher is ending lost runs (warnings). Read-only: it repairs nothing. Every check is
 * linear in the board (or n log n), so it finishes on boards of any shape.
 *
 * A damaged file (SQLITE_CORRUPT) is a finding, not an error: the report names what SQLite
 * found (FILE_CHECKS), and the board's own checks, which would read the damaged pages, are
 * skipped. Call it outside a transaction: it runs the file checks outside any, then opens its
 * own read (an error of a damaged page ends the transaction it happens in).
 */
export async function doctor(
  driver: Driver,
  now: Clock,
  options: DoctorOptions = {},
): Promise<DoctorReport> {
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  if (!Number.isSafeInteger(staleAfterMs) || staleAfterMs < 0) {
    throw new ValidationError(`Invalid stale-run age: ${staleAfterMs} ms`);
  }
  const problems: Finding[] = (await driver.exclusive((q) => q.fileChecks(MAX_LINES)))
    .map((f) => ({ check: f.check, ids: [], message: f.message }));
  const warnings: Finding[] = [];
  if (problems.length > 0) {
    problems.push({
      check: "invariants",
      ids: [],
      message: "not checked: the board file is damaged",
    });
  } else {
    await driver.read((q) => boardFindings(q, now, staleAfterMs, problems, warnings));
  }
  return {
    ok: problems.length === 0,
    path: driver.where,
    schema_version: (await driver.info()).schema_version,
    problems,
    warnings,
  };
}

/** boardFindings adds the foreign key and invariant problems and the stale-run warnings. */
async function boardFindings(
  q: Queries,
  now: Clock,
  staleAfterMs: number,
  problems: Finding[],
  warnings: Finding[],
): Promise<void> {
  const fks = new Map<string, (string | number)[]>();
  for (const fk of await q.foreignKeyBreaches()) {
    const key = `${fk.table} rows point at missing ${fk.parent} rows`;
    const ids = fks.get(key) ?? [];
    if (ids.length < 20 && fk.rowid !== null) ids.push(fk.rowid);
    fks.set(key, ids);
  }
  for (const [message, ids] of fks) problems.push({ check: "foreign_key_check", ids, message });
  for (const v of await checkInvariants({ q })) problems.push({ check: v.check, ids: v.ids });

  const stale = await q.runsStale(now() - staleAfterMs, 20);
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
