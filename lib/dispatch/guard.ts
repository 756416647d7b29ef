/**
 * The lease guard: a tiny watchdog beside each worker that stops it if its lease goes
 * unrenewed, whatever became of the dispatcher. The dispatcher's own cutoff (services/cutoff.ts)
 * stops the workers of a host cut off from the board, but it runs in the dispatcher: a
 * dispatcher killed alone (kill -9, an OOM kill, a crash) leaves its workers running with no one
 * to renew their leases or stop them, and once the leases expire another host (or this one)
 * runs the same tasks again, two workers on one task. The guard closes that gap.
 *
 * It is a POSIX sh loop (about a megabyte of memory, one `sleep` a few seconds apart), started
 * in its own session beside the worker, and it reads two things only: the deadline file the
 * dispatcher rewrites after every renewal the board acknowledged, and /proc/uptime, a clock that
 * a step of the wall clock does not move. When the deadline passes it sends SIGTERM to the
 * worker's process group, SIGKILL after a grace, and empties the run's cgroup if it has one;
 * it exits by itself once the group is gone, when a newer guard of the same run (a restarted
 * dispatcher adopted the worker) takes over its pid file, or when the dispatcher, done with the
 * run, removes it (dismissGuard). A task's completion gate, which runs after its worker exited
 * while the run stays open, gets a guard of its own the same way. A guard that stopped its worker leaves
 * a `.stopped` file beside the deadline, so the next dispatcher can say why the run ended.
 *
 * The deadline is a quarter of the cutoff margin after the dispatcher's own cutoff: a live
 * dispatcher always stops first, and the guard's SIGKILL still comes half a margin before the
 * lease can expire on the board (see guardTimes).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { openLog, runFile } from "./logs.ts";
import { cutoffMargin } from "./services/cutoff.ts";

/**
 * The guard's loop. Arguments: the worker's process group, the deadline file, the pid file,
 * the run's cgroup (or ""), the poll and grace in seconds, the run id and what it guards (for
 * its log line: "the worker", "the completion gate").
 * Deadlines are /proc/uptime in hundredths of a second (it always prints two decimals).
 */
const SCRIPT = `
pg=$1 file=$2 pidfile=$3 cg=$4 poll=$5 grace=$6 run=$7 what=$8
echo $$ > "$pidfile.$$" && mv -f "$pidfile.$$" "$pidfile" || exit 1
deadline=
while kill -0 -"$pg" 2>/dev/null; do
  owner=; read -r owner < "$pidfile" 2>/dev/null
  [ "$owner" = "$$" ] || exit 0
  next=; read -r next < "$file" 2>/dev/null
  case $next in ''|*[!0-9]*) ;; *) deadline=$next ;; esac
  read -r up _ < /proc/uptime || exit 1
  now=\${up%.*}\${up#*.}
  if [ -n "$deadline" ] && [ "$now" -ge "$deadline" ]; then
    echo "$now" > "$file.stopped"
    echo "kanban guard: run $run's lease was not renewed in time (its dispatcher is gone or stuck); stopping $what (process group $pg) before the lease can expire"
    kill -TERM -"$pg" 2>/dev/null
    sleep "$grace"
    kill -KILL -"$pg" 2>/dev/null
    [ -n "$cg" ] && echo 1 > "$cg/cgroup.kill" 2>/dev/null
    rm -f "$pidfile"
    exit 0
  fi
  sleep "$poll"
done
[ "$owner" = "$$" ] && rm -f "$pidfile"
exit 0
`;

/** The name the guard runs under ($0), so `ps` says what it is. */
export const GUARD_NAME = "kanban-guard";

/** uptimeCs is /proc/uptime in hundredths of a second, or null where there is none. */
export function uptimeCs(): number | null {
  try {
    const up = readFileSync("/proc/uptime", "utf8").split(" ")[0]!;
    const cs = Math.round(Number(up) * 100);
    return Number.isFinite(cs) ? cs : null;
  } catch {
    return null;
  }
}

export interface GuardTimes {
  /** After the last acknowledged renewal, when the guard stops the worker (ms). */
  afterRenewalMs: number;
  /** SIGTERM to SIGKILL (ms). */
  graceMs: number;
  /** How often the guard looks (ms). */
  pollMs: number;
}

/**
 * guardTimes: with margin m (cutoffMargin), the guard sends SIGTERM at lease - 3m/4 after the
 * last renewal (the dispatcher's cutoff comes at lease - m, or up to m/4 later when it waits
 * for a renewal first), SIGKILL at most m/4 later, and looks every m/8 (between a quarter of a
 * second and 5 s): SIGKILL comes at least 3m/8 before the lease can expire.
 */
export function guardTimes(leaseMs: number, stopGraceMs: number): GuardTimes {
  const m = cutoffMargin(leaseMs);
  return {
    afterRenewalMs: leaseMs - (3 * m) / 4,
    graceMs: Math.min(stopGraceMs, m / 4),
    pollMs: Math.min(5_000, Math.max(250, m / 8)),
  };
}

/**
 * writeDeadline sets the guard's deadline: `inMs` from now, on the /proc/uptime clock (written
 * to a temporary file and renamed, so the guard never reads half a number). False where there
 * is no /proc/uptime.
 */
export function writeDeadline(file: string, inMs: number): boolean {
  const now = uptimeCs();
  if (now === null) return false;
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${now + Math.ceil(inMs / 10)}\n`);
  renameSync(tmp, file);
  return true;
}

/**
 * guardFiles are the guard's files of the run whose log is `logPath`: the deadline, the pid
 * files of the worker's guard and of its completion gate's, and the mark of a stop.
 */
export function guardFiles(
  logPath: string,
): { deadline: string; pid: string; gatePid: string; stopped: string } {
  const deadline = runFile(logPath, "guard");
  return {
    deadline,
    pid: `${deadline}.pid`,
    gatePid: `${deadline}.gate.pid`,
    stopped: `${deadline}.stopped`,
  };
}

/**
 * dismissGuard tells the guard of the run whose log is `logPath` that its run is over: its pid
 * file and deadline go, and the guard, finding the pid file no longer its own, exits.
 */
export function dismissGuard(logPath: string): void {
  const f = guardFiles(logPath);
  rmSync(f.pid, { force: true });
  rmSync(f.gatePid, { force: true });
  rmSync(f.deadline, { force: true });
}

/**
 * guardStopped tells whether a guard of the run whose log is `logPath` stopped its worker or
 * its completion gate.
 */
export function guardStopped(logPath: string): boolean {
  return existsSync(guardFiles(logPath).stopped);
}

export interface GuardOptions {
  runId: number;
  /** The worker's process group (its pid: the worker leads its group). */
  pgid: number;
  /** The deadline file (writeDeadline), written before the guard starts. */
  file: string;
  /** The guard's pid file: a newer guard of the same run takes it over, and the older exits. */
  pidFile: string;
  /** The run's cgroup, emptied after SIGKILL (null: none). */
  cgroup: string | null;
  times: GuardTimes;
  /** The run's log: the guard says there why it stopped the worker. */
  logPath: string;
  /** What it guards, as its log line names it: "the worker" (the default), "the completion gate". */
  what?: string;
}

/**
 * startGuard starts the guard for a worker. It does not hold this process open (unref), and it
 * has an environment of its own: no lease token, so it is never taken for one of the run's
 * processes. `failed` hears of a guard that could not start.
 */
export function startGuard(o: GuardOptions, failed: (err: Error) => void): ChildProcess {
  if (!Number.isSafeInteger(o.pgid) || o.pgid <= 1) throw new Error(`bad process group ${o.pgid}`);
  const fd = openLog(o.logPath);
  try {
    const seconds = (ms: number) => (ms / 1000).toFixed(2);
    const child = spawn("/bin/sh", [
      "-c",
      SCRIPT,
      GUARD_NAME,
      String(o.pgid),
      o.file,
      o.pidFile,
      o.cgroup ?? "",
      seconds(o.times.pollMs),
      seconds(o.times.graceMs),
      String(o.runId),
      o.what ?? "the worker",
    ], {
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { PATH: "/usr/bin:/bin" },
    });
    child.on("error", failed);
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}
