/**
 * Errors that callers handle, for the whole program: the store, config, review and every
 * surface import them from here. This module is a leaf (it imports nothing), so the dashboard
 * bundle and lib/config can use it without pulling in the store. Each error has a stable
 * string `code` (used in `--json` output and by the HTTP and tool surfaces) and nothing else
 * about how a surface reports it: the CLI maps codes to exit codes (lib/cli/exit_codes.ts) and
 * the API to statuses (lib/http/errors.ts).
 */
export class KanbanError extends Error {
  /** Stable machine-readable code, e.g. `not_found`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** No task, run or board matches what was asked for. */
export class NotFoundError extends KanbanError {
  constructor(message: string) {
    super("not_found", message);
  }
}

/**
 * An id prefix matches more than one task: `total` of them (the caller may have read only the
 * first few `candidates`); the message names five and counts the rest.
 */
export class AmbiguousIdError extends KanbanError {
  readonly candidates: string[];
  readonly total: number;
  constructor(prefix: string, candidates: string[], total = candidates.length) {
    const shown = candidates.slice(0, 5);
    const rest = total - shown.length;
    const more = rest > 0 ? `, and ${rest} more` : "";
    const list = shown.join(", ");
    super("ambiguous_id", `Id prefix "${prefix}" matches several tasks: ${list}${more}`);
    this.candidates = candidates;
    this.total = total;
  }
}

/** A status change that the transition table does not allow. */
export class IllegalTransitionError extends KanbanError {
  readonly taskId: string;
  readonly from: string;
  readonly to: string;
  constructor(taskId: string, from: string, to: string, action: string, hint = "") {
    super(
      "illegal_transition",
      `Cannot ${action} task "${taskId}": it is ${from}, and ${from} -> ${to} is not allowed${
        hint ? ` (${hint})` : ""
      }`,
    );
    this.taskId = taskId;
    this.from = from;
    this.to = to;
  }
}

/** A worker write whose lease token is not the task's current run's. Nothing was changed. */
export class StaleLeaseError extends KanbanError {
  constructor(message: string) {
    super("stale_lease", message);
  }
}

/** Input that is malformed or out of range (the CLI's usage exit code). */
export class ValidationError extends KanbanError {
  constructor(message: string) {
    super("invalid_input", message);
  }
}

/** A request that is well-formed but refused by a rule (self link, cycle, ...). */
export class ConflictError extends KanbanError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** The board file was written by a newer kanban; opening it could corrupt it. */
export class BoardTooNewError extends KanbanError {
  constructor(path: string, found: number, supported: number) {
    super(
      "board_too_new",
      `Board "${path}" has schema version ${found}, but this kanban supports up to ${supported}; ` +
        `upgrade kanban to open it`,
    );
  }
}

/**
 * The board cannot be written from this process: SQLite opened it read-only because the file
 * or its folder (where it writes `-wal` and `-shm`) is not writable here. Inside a worker
 * that is most often the agent CLI's sandbox.
 */
export class ReadOnlyBoardError extends KanbanError {
  constructor(path: string, detail: string) {
    super(
      "read_only",
      `Board "${path}" is read-only for this process (${detail}): its folder must be writable. ` +
        "Inside a worker, the agent CLI's sandbox may allow writes only to its workspace " +
        "(the codex preset adds the board's folder with --add-dir; docs/agents.md); otherwise " +
        "check the permissions of the file and its folder",
    );
  }
}

/** readOnlyError turns SQLite's "readonly database" errors into a ReadOnlyBoardError. */
export function readOnlyError(path: string, err: unknown): ReadOnlyBoardError | null {
  const message = err instanceof Error ? err.message : String(err);
  const m = /attempt to write a readonly database|readonly database|read-only file system/i
    .exec(message);
  return m ? new ReadOnlyBoardError(path, m[0]) : null;
}

/** The database stayed locked by other writers for longer than the busy timeout. */
export class BusyError extends KanbanError {
  constructor(path: string, timeoutMs: number) {
    super("busy", `Board "${path}" stayed locked by other writers for ${timeoutMs} ms`);
  }
}

/**
 * A worker's report (complete, block) could not reach the board before the run's lease ran
 * out: the board stayed locked or unreachable. The report was left in the run's report file
 * for the dispatcher to deliver when the worker exits (or to record why it could not).
 */
export class UndeliveredError extends KanbanError {
  constructor(message: string) {
    super("undelivered", message);
  }
}

/**
 * The board file is damaged: SQLite found a page it cannot read (SQLITE_CORRUPT, "database
 * disk image is malformed"). Nothing was changed; `kanban doctor` says what is damaged and
 * which backup to restore.
 */
export class CorruptBoardError extends KanbanError {
  /** What SQLite said. */
  readonly detail: string;
  constructor(path: string, detail: string) {
    super("corrupt", `The board file "${path}" is corrupt (${detail}); run kanban doctor`);
    this.detail = detail;
  }
}

/** isCorrupt tells whether `err` is SQLite's SQLITE_CORRUPT (any extended code). */
export function isCorrupt(err: unknown): boolean {
  if (err instanceof CorruptBoardError) return true;
  const errcode = (err as { errcode?: unknown } | null)?.errcode;
  if (typeof errcode === "number" && (errcode & 0xff) === 11) return true;
  const message = err instanceof Error ? err.message : String(err);
  return /database disk image is malformed|malformed database schema/i.test(message);
}

/** corruptError turns SQLite's SQLITE_CORRUPT errors into a CorruptBoardError. */
export function corruptError(path: string, err: unknown): CorruptBoardError | null {
  if (err instanceof CorruptBoardError) return err;
  if (!isCorrupt(err)) return null;
  const message = err instanceof Error ? err.message : String(err);
  return new CorruptBoardError(path, message);
}

/**
 * The disk that holds the board (or a file kanban writes) is full: SQLITE_FULL, ENOSPC or
 * EDQUOT. SQLite rolled the transaction back, and kanban's own file writes remove their
 * temporary file, so nothing was changed.
 */
export class DiskFullError extends KanbanError {
  constructor(path: string, detail: string) {
    super(
      "disk_full",
      `Cannot write "${path}": the disk is full (${detail}). Nothing was changed: free some ` +
        "space on that disk (df -h shows which) and try again",
    );
  }
}

/**
 * The path names something that is not a kanban board: a directory, a device such as
 * /dev/null, a text file (SQLITE_NOTADB), or another program's SQLite database.
 */
export class NotABoardError extends KanbanError {
  constructor(path: string, why: string) {
    super(
      "not_a_board",
      `"${path}" is not a kanban board: ${why}. Check --db, --board and $KANBAN_DB ` +
        `("kanban init" makes a new board; a damaged board file is restored from a backup)`,
    );
  }
}

/**
 * The operating system failed a read or write of the board (SQLITE_IOERR, "disk I/O error"):
 * a failing disk, or a file size limit (ulimit -f) that the board outgrew. SQLite rolled the
 * transaction back.
 */
export class BoardIoError extends KanbanError {
  constructor(path: string, detail: string) {
    super(
      "io_error",
      `Cannot read or write the board "${path}" (${detail}): the disk may be failing, or a ` +
        "file size limit (ulimit -f) is lower than the board. Nothing was changed; check the " +
        "disk (dmesg) and the limits, then try again",
    );
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** sqliteCode is an SQLite error's primary result code, when the runtime gives it (Bun does). */
function sqliteCode(err: unknown): number | null {
  const errcode = (err as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === "number" ? errcode & 0xff : null;
}

/** diskFullError turns SQLITE_FULL, ENOSPC and EDQUOT into a DiskFullError about `path`. */
export function diskFullError(path: string, err: unknown): DiskFullError | null {
  if (err instanceof DiskFullError) return err;
  const fsCode = (err as { code?: unknown } | null)?.code;
  const m = /database or disk is full|no space left on device|disk quota exceeded/i
    .exec(messageOf(err));
  if (sqliteCode(err) === 13 || fsCode === "ENOSPC" || fsCode === "EDQUOT" || m) {
    return new DiskFullError(path, m?.[0] ?? String(fsCode ?? "SQLITE_FULL"));
  }
  return null;
}

/**
 * boardError gives a storage failure of the board at `path` its specific error: read_only,
 * corrupt, disk_full, not_a_board or io_error; null for anything else. Db maps every failure
 * of an open, a read and a transaction through it, so the CLI, the HTTP API and the tools all
 * report the same code rather than `internal`.
 */
export function boardError(path: string, err: unknown): KanbanError | null {
  if (err instanceof KanbanError) return err;
  const known = readOnlyError(path, err) ?? corruptError(path, err) ?? diskFullError(path, err);
  if (known !== null) return known;
  const message = messageOf(err);
  const code = sqliteCode(err);
  if (code === 26 || /file is not a database/i.test(message)) {
    return new NotABoardError(path, "SQLite says the file is not a database");
  }
  if (code === 10 || /disk I\/O error/i.test(message)) return new BoardIoError(path, message);
  return null;
}
