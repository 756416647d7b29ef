/**
 * Process facts from /proc (Linux): a pid's state, start time and process group. A pid is
 * fingerprinted by its start time so that a reused pid is never taken for the worker, and a
 * process group is "gone" only when no live member is left in /proc.
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

/** groupMembers lists the live (non-zombie) processes of process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
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

/** signalGroup sends `signal` to every process in group `pgid`; false when none is left. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface StopResult {
  /** SIGKILL was needed (SIGTERM was ignored past the grace period). */
  killed: boolean;
  /** Members still alive after SIGKILL and the final wait (should be empty). */
  survivors: number[];
  tookMs: number;
}

/**
 * stopGroup stops a whole process group: SIGTERM, up to `graceMs` for it to exit, then
 * SIGKILL, then verification that no member is left. It waits with timers, so the caller's
 * other work goes on meanwhile.
 */
export async function stopGroup(pgid: number, graceMs: number): Promise<StopResult> {
  const started = Date.now();
  signalGroup(pgid, "SIGTERM");
  // A stopped (SIGSTOP) member cannot act on SIGTERM until it is continued.
  signalGroup(pgid, "SIGCONT");
  while (Date.now() - started < graceMs) {
    if (groupMembers(pgid).length === 0) {
      return { killed: false, survivors: [], tookMs: Date.now() - started };
    }
    await sleep(50);
  }
  signalGroup(pgid, "SIGKILL");
  const killedAt = Date.now();
  let survivors = groupMembers(pgid);
  while (survivors.length > 0 && Date.now() - killedAt < 5_000) {
    await sleep(50);
    signalGroup(pgid, "SIGKILL");
    survivors = groupMembers(pgid);
  }
  return { killed: true, survivors, tookMs: Date.now() - started };
}
