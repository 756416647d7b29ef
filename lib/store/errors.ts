/**
 * Errors that callers handle. Each has a stable string `code` (used in `--json` output and
 * by the HTTP and tool surfaces) and the process exit code the CLI maps it to.
 */
export class KanbanError extends Error {
  /** Stable machine-readable code, e.g. `not_found`. */
  readonly code: string;
  /** Exit code the CLI uses: 1 refused or failed, 2 usage error. */
  readonly exitCode: 1 | 2;

  constructor(code: string, message: string, exitCode: 1 | 2 = 1) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** No task, run or board matches what was asked for. */
export class NotFoundError extends KanbanError {
  constructor(message: string) {
    super("not_found", message);
  }
}

/** An id prefix matches more than one task. */
export class AmbiguousIdError extends KanbanError {
  readonly candidates: string[];
  constructor(prefix: string, candidates: string[]) {
    const shown = candidates.slice(0, 5).join(", ");
    const more = candidates.length > 5 ? `, and ${candidates.length - 5} more` : "";
    super("ambiguous_id", `Id prefix "${prefix}" matches several tasks: ${shown}${more}`);
    this.candidates = candidates;
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

/** Input that is malformed or out of range (a usage error: exit code 2). */
export class ValidationError extends KanbanError {
  constructor(message: string) {
    super("invalid_input", message, 2);
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
