/**
 * Starting a worker: its own process group (so a stop reaches every process it started),
 * stdin empty (or the prompt, for a CLI that reads it there), stdout and stderr appended to the
 * run's log, cwd = its workspace.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, closeSync, constants, openSync, statSync } from "node:fs";
import { join } from "node:path";
import { openLog } from "./logs.ts";
import { readStat } from "./proc.ts";

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** /proc start time (null if the process was already gone when we looked). */
  startTime: number | null;
}

/** SpawnError: the program could not be started (missing, not executable, bad cwd). */
export class SpawnError extends Error {}

/**
 * findProgram resolves a program name the way a shell would, but against the worker's PATH
 * (runtimes differ on whether spawn() searches the parent's PATH or the child's). Returns
 * the executable's path, or null.
 */
export function findProgram(program: string, path: string): string | null {
  const candidates = program.includes("/")
    ? [program]
    : path.split(":").filter(Boolean).map((d) => join(d, program));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * spawnWorker starts `argv` as a worker. Its stdin is empty, or the file `stdinFile` (a file,
 * not a pipe, so the worker reads it whole even if the dispatcher dies meanwhile).
 */
export function spawnWorker(
  argv: string[],
  options: { cwd: string; env: Record<string, string>; logPath: string; stdinFile?: string },
): Promise<Spawned> {
  const program = findProgram(argv[0]!, options.env["PATH"] ?? "");
  if (program === null) {
    return Promise.reject(
      new SpawnError(
        `cannot start ${argv[0]}: not found or not executable (PATH=${options.env["PATH"] ?? ""})`,
      ),
    );
  }
  const fd = openLog(options.logPath);
  let input: number | "ignore" = "ignore";
  try {
    if (options.stdinFile !== undefined) input = openSync(options.stdinFile, "r");
  } catch (err) {
    closeSync(fd);
    return Promise.reject(
      new SpawnError(`cannot start ${argv[0]}: its input: ${(err as Error).message}`),
    );
  }
  const close = () => {
    closeSync(fd);
    if (typeof input === "number") closeSync(input);
  };
  return new Promise<Spawned>((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(program, argv.slice(1), {
        argv0: argv[0]!,
        cwd: options.cwd,
        env: options.env,
        detached: true, // a new process group led by the worker
        stdio: [input, fd, fd],
      });
    } catch (err) {
      close();
      reject(new SpawnError(`cannot start ${argv[0]}: ${(err as Error).message}`));
      return;
    }
    child.once("error", (err) => {
      close();
      reject(new SpawnError(`cannot start ${argv[0]}: ${err.message}`));
    });
    child.once("spawn", () => {
      close();
      const pid = child.pid!;
      resolve({ child, pid, startTime: readStat(pid)?.startTime ?? null });
    });
  });
}
