/**
 * How busy other programs keep the machine while the bench runs, for bench/bench.ts and
 * bench/pg.ts: the machine's busy time from /proc/stat less the bench's own, its reaped
 * children's and (for a PostgreSQL server the bench started) the server's processes'.
 */
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";

/** A clock tick of /proc's CPU times (USER_HZ is 100 on Linux). */
export const TICK_MS = 10;

export interface CpuSnapshot {
  /** Machine-wide busy and total time, and ours: this process's plus its reaped children's. */
  busy: number;
  total: number;
  self: number;
}

/** ticks is a process's CPU time and its reaped children's (utime, stime, cutime, cstime). */
function ticks(stat: string): number {
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ").slice(11, 15).map(Number)
    .reduce((a, b) => a + b, 0);
}

/**
 * treeTicks is the CPU time of process `pid` and of its live children (a PostgreSQL server's
 * postmaster and its backends; backends that ended are in the postmaster's reaped time), in
 * clock ticks (TICK_MS each).
 */
export function treeTicks(pid: number): number {
  let sum = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (Number(entry) === pid || ppid === pid) sum += ticks(stat);
    } catch { /* gone meanwhile */ }
  }
  return sum;
}

/**
 * cpuSnapshot reads /proc/stat and /proc/self/stat (clock ticks), counting the process trees
 * of `also` as ours too; null when not Linux.
 */
export function cpuSnapshot(also: readonly number[] = []): CpuSnapshot | null {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1)
      .map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = f[3]! + (f[4] ?? 0); // idle + iowait
    let self = ticks(readFileSync("/proc/self/stat", "utf8"));
    for (const pid of also) self += treeTicks(pid);
    return { busy: total - idle, total, self };
  } catch {
    return null;
  }
}

/**
 * othersBusy is how many cores other programs kept busy between two snapshots: the machine's
 * busy time less ours (the dispatcher, the claimers and every dist/kanban run are reaped
 * children, so their time counts as ours).
 */
export function othersBusy(a: CpuSnapshot | null, b: CpuSnapshot | null): string {
  if (!a || !b || b.total === a.total) return "unknown";
  const others = Math.max(0, (b.busy - a.busy) - (b.self - a.self)) / (b.total - a.total);
  return `${(others * cpus().length).toFixed(2)} of ${cpus().length} cores`;
}
