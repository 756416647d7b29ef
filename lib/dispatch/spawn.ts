/**
 * Starting a worker: its own process group (so a stop reaches every process it started), and
 * its run's cgroup where containment is a cgroup (contain.ts), stdin empty (or the prompt, for
 * a CLI that reads it there), stdout and stderr appended to the run's log, cwd = its workspace.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, closeSync, constants, openSync, statSync } from "node:fs";
import { join } from "node:path";
import { openLog } from "./logs.ts";
import { readStat } from "./proc.ts";
import { WORKER_VARS } from "../worker_env.ts";
import {
  type Containment,
  enterArgv,
  enterRun,
  prepareRun,
  runCgroup,
  stopRun,
} from "./contain.ts";

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** /proc start time (null if the process was already gone when we looked). */
  startTime: number | null;
  /** The run's cgroup the worker was moved into, or null (no containment given, or "group"). */
  cgroup: string | null;
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

export interface SpawnOptions {
  cwd: string;
  env: Record<string, string>;
  logPath: string;
  /** A file for the worker's stdin (else it is empty). */
  stdinFile?: string;
  /** Put the worker into run `runId`'s containment (its cgroup, for kind "cgroup"). */
  contain?: { containment: Containment; runId: number; memoryMax?: number | null };
}

/**
 * spawnWorker starts `argv` as a worker. Its stdin is empty, or the file `stdinFile` (a file,
 * not a pipe, so the worker reads it whole even if the dispatcher dies meanwhile).
 *
 * With `contain` of kind "cgroup", the run's cgroup is made before the spawn, the worker moves
 * itself in before its program runs (contain.ts enterArgv), and the dispatcher moves it in
 * again (a no-op, which checks it) as soon as it has a pid, before this resolves. Fail closed:
 * if the cgroup cannot be made, nothing is started; if a move is refused, the worker (its group
 * and anything with its KANBAN_TOKEN) is stopped and this rejects with a SpawnError that says
 * why. (Should the worker's own move be refused and it exit before the dispatcher's check, it
 * has exited with code 126 before its program ran, saying why in the run's log.)
 */
export function spawnWorker(argv: string[], options: SpawnOptions): Promise<Spawned> {
  const program = findProgram(argv[0]!, options.env["PATH"] ?? "");
  if (program === null) {
    return Promise.reject(
      new SpawnError(
        `cannot start ${argv[0]}: not found or not executable (PATH=${options.env["PATH"] ?? ""})`,
      ),
    );
  }
  const contain = options.contain;
  let cgroup: string | null = null;
  if (contain) {
    try {
      cgroup = runCgroup(contain.containment, contain.runId);
      prepareRun(contain.containment, contain.runId, contain.memoryMax ?? null);
    } catch (err) {
      return Promise.reject(new SpawnError(`cannot start ${argv[0]}: ${(err as Error).message}`));
    }
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
    const command = contain ? enterArgv(contain.containment, contain.runId, [program]) : [program];
    try {
      child = spawn(command[0]!, [...command.slice(1), ...argv.slice(1)], {
        argv0: command.length > 1 ? "kanban-enter" : argv[0]!,
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
    // The dispatcher's own move, at once (the pid is known as soon as spawn() returns): a check
    // of the worker's, and the move itself should the worker's come later.
    let entered: Error | null | undefined;
    const enter = (pid: number) => {
      if (!contain || entered !== undefined) return;
      try {
        enterRun(contain.containment, contain.runId, pid); // false: it exited already
        entered = null;
      } catch (err) {
        entered = err as Error;
      }
    };
    if (child.pid !== undefined) enter(child.pid);
    child.once("error", (err) => {
      close();
      reject(new SpawnError(`cannot start ${argv[0]}: ${err.message}`));
    });
    child.once("spawn", () => {
      close();
      const pid = child.pid!;
      enter(pid);
      if (entered) {
        const failed = entered;
        const run = {
          runId: contain!.runId,
          pgid: pid, // detached: the worker leads its own group
          token: options.env[WORKER_VARS.token] ?? null,
        };
        void stopRun(contain!.containment, run, 0).then((stop) => {
          const left = stop.survivors.length > 0 ? ` (${stop.survivors.join(", ")} survived)` : "";
          reject(new SpawnError(`cannot start ${argv[0]}: ${failed.message}; stopped it${left}`));
        });
        return;
      }
      resolve({ child, pid, startTime: readStat(pid)?.startTime ?? null, cgroup });
    });
  });
}
