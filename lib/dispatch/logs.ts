/**
 * Run logs: a worker's stdout and stderr go straight to a file (opened for append) so that
 * the worker keeps running if the dispatcher dies. Rotation copies the file to `.1` and
 * truncates it in place; the worker's appends continue at the new end.
 */
import { copyFileSync, existsSync, mkdirSync, openSync, statSync, truncateSync } from "node:fs";
import { dirname, join } from "node:path";

export function runLogPath(logRoot: string, taskId: string, runId: number): string {
  return join(logRoot, taskId, `run-${runId}.log`);
}

/**
 * runFile is the path of one of a run's own files, next to its log: `run-3.prompt.md`,
 * `run-3.gemini.json`. `kanban gc` sweeps them with the log.
 */
export function runFile(logPath: string, name: string): string {
  return logPath.replace(/\.log$/, `.${name}`);
}

/** openLog creates the log's folder and opens the file for appending; returns the fd. */
export function openLog(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, "a");
}

/** logSize is the log's size in bytes (0 when it does not exist). */
export function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** rotateLog keeps a log under `maxBytes`: the current part moves to `.1` (one old part kept). */
export function rotateLog(path: string, maxBytes: number): boolean {
  if (!existsSync(path) || logSize(path) <= maxBytes) return false;
  copyFileSync(path, `${path}.1`);
  truncateSync(path, 0);
  return true;
}
