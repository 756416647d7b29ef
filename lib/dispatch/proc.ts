/**
 * Process facts from /proc (Linux): a pid's state, start time and process group. A pid is
 * fingerprinted by its start time so that a reused pid is never taken for the worker, and a
 * process group is "gone" only when no live member is left in /proc.
 *
 * Every signal the dispatcher sends goes through signalGroup or signalPid, which refuse any
 * target that is not an integer > 1 (kill(0) is our own group, kill(-1) every process we may
 * signal, NaN and fractions are bugs) and our own process or group.
 */
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";

export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T (stopped), ... */
  state: string;
  pgrp: number;
  /** Start time in clock ticks since boot (field 22): with the pid, a unique fingerprint. */
  startTime: number;
}

/** readStat parses /proc/<pid>/stat, or returns null when the process is gone. */
export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return {
    pid,
    state: rest[0] ?? "?",
    pgrp: Number(rest[2]),
    startTime: Number(rest[19]),
  };
}

export type Liveness = "alive" | "gone" | "zombie" | "reused";

/** liveness says whether the worker with this pid (and start time, when known) still runs. */
export function liveness(pid: number, startTime: number | null): Liveness {
  const st = readStat(pid);
  if (!st) return "gone";
  if (startTime !== null && st.startTime !== startTime) return "reused";
  if (st.state === "Z" || st.state === "X") return "zombie";
  return "alive";
}

/**
 * isTarget: `n` may be signalled as a pid or a process group: an integer > 1. 0 (our own
 * group), 1 (init, or with a minus sign every process), negatives, NaN and fractions never.
 */
export function isTarget(n: number): boolean {
  return Number.isSafeInteger(n) && n > 1;
}

/** ownGroup is this process's process group (read each time: a setsid would change it). */
function ownGroup(): number | null {
  return readStat(process.pid)?.pgrp ?? null;
}

/** groupMembers lists the live (non-zombie) processes of process group `pgid` ([] for a non-target). */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  if (!isTarget(pgid)) return out;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st && st.pgrp === pgid && st.state !== "Z" && st.state !== "X") out.push(st.pid);
  }
  return out;
}

/**
 * signalGroup sends `signal` to every process in group `pgid`; false when none is left, and
 * false without sending anything when `pgid` is not a target (isTarget) or is our own group.
 */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!isTarget(pgid) || pgid === ownGroup()) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * signalPid sends `signal` to one process, only while it is still the process with this start
 * time (a reused pid is left alone); never to a non-target (isTarget) or to ourselves. True
 * when the signal was delivered.
 */
export function signalPid(pid: number, startTime: number, signal: NodeJS.Signals): boolean {
  if (!isTarget(pid) || pid === process.pid) return false;
  if (readStat(pid)?.startTime !== startTime) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** sleep waits on a timer (the event loop stays free). */
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StopResult {
  /** SIGKILL was needed (SIGTERM was ignored past the grace period). */
  killed: boolean;
  /** Members still alive after SIGKILL and the final wait (should be empty). */
  survivors: number[];
  tookMs: number;
  /** Set when nothing was signalled because the target was refused (pid 0, 1, our group...). */
  refused?: string;
}

/**
 * stopGroup stops a whole process group: SIGTERM, up to `graceMs` for it to exit, then
 * SIGKILL, then verification that no member is left. It waits with timers, so the caller's
 * other work goes on meanwhile. A group that is not a target (pid 0 of a worker still being
 * spawned, 1, our own group) is refused: nothing is signalled and `refused` says so.
 */
export async function stopGroup(pgid: number, graceMs: number): Promise<StopResult> {
  if (!isTarget(pgid) || pgid === ownGroup()) {
    return { killed: false, survivors: [], tookMs: 0, refused: `not a worker's group: ${pgid}` };
  }
  // Durations on the monotonic clock: a wall-clock step neither cuts nor stretches the grace.
  const started = performance.now();
  signalGroup(pgid, "SIGTERM");
  // A stopped (SIGSTOP) member cannot act on SIGTERM until it is continued.
  signalGroup(pgid, "SIGCONT");
  while (performance.now() - started < graceMs) {
    if (groupMembers(pgid).length === 0) {
      return { killed: false, survivors: [], tookMs: Math.round(performance.now() - started) };
    }
    await sleep(50);
  }
  signalGroup(pgid, "SIGKILL");
  const killedAt = performance.now();
  let survivors = groupMembers(pgid);
  while (survivors.length > 0 && performance.now() - killedAt < 5_000) {
    await sleep(50);
    signalGroup(pgid, "SIGKILL");
    survivors = groupMembers(pgid);
  }
  return { killed: true, survivors, tookMs: Math.round(performance.now() - started) };
}
