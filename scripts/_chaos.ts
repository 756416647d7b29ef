/**
 * What the chaos harness's two modes share (scripts/chaos.ts, one host on SQLite;
 * scripts/chaos_hosts.ts, several hosts on PostgreSQL): where things are, small helpers, and
 * the one judge of "two live workers", which reads every process's environment.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { readStat } from "../lib/dispatch/proc.ts";

export const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
export const BIN = join(ROOT, "dist", "kanban");
export const AGENT = join(ROOT, "tests", "chaos", "agent.sh");

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const pick = <T>(xs: T[]): T | undefined => xs[Math.floor(Math.random() * xs.length)];

/** signal sends `sig` to `pid` (a negative pid: its process group); false when it is gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** A process that belongs to a run: it carries the run's variables in its environment. */
export interface WorkerProcess {
  pid: number;
  task: string;
  run: string;
  token: string | null;
  /** The dispatcher's socket it reaches the board through, if any. */
  socket: string | null;
  /** Stopped (SIGSTOP) or a zombie: it does nothing. */
  idle: boolean;
  /** It leads its process group: a worker the dispatcher started (not one of its children). */
  leader: boolean;
  /** Its command line (for reports), at most 80 characters. */
  command: string;
}

const envVar = (env: string, name: string) =>
  new RegExp(`(?:^|\\0)${name}=([^\\0]*)`).exec(env)?.[1];

/**
 * workerProcesses lists every process whose environment binds it to a run (KANBAN_TASK and
 * KANBAN_RUN): the workers and whatever they started. With `mark` ("NAME=value"), only those
 * whose environment also holds it (a chaos run marks its dispatchers, and so their workers,
 * apart from other tests' on the same machine).
 */
export function workerProcesses(mark?: string): WorkerProcess[] {
  const out: WorkerProcess[] = [];
  for (const name of spawnSync("ls", ["/proc"], { encoding: "utf8" }).stdout.split("\n")) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    let env = "";
    try {
      env = readFileSync(`/proc/${name}/environ`, "utf8");
    } catch {
      continue;
    }
    if (mark !== undefined && !env.split("\0").includes(mark)) continue;
    const task = envVar(env, "KANBAN_TASK");
    const run = envVar(env, "KANBAN_RUN");
    if (!task || !run) continue;
    out.push({
      pid: Number(name),
      task,
      run,
      token: envVar(env, "KANBAN_TOKEN") ?? null,
      socket: envVar(env, "KANBAN_SOCKET") ?? null,
      idle: st.state === "Z" || st.state === "T",
      leader: st.pgrp === Number(name),
      command: commandLine(Number(name)),
    });
  }
  return out;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim().slice(0, 80);
  } catch {
    return "?";
  }
}

/** liveRunsByTask: which runs really have live workers (stopped ones do nothing), by task. */
export function liveRunsByTask(mark?: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of workerProcesses(mark)) {
    if (!p.idle) out.set(p.task, (out.get(p.task) ?? new Set()).add(p.run));
  }
  return out;
}

/** What every chaos run must end with: the counts its verdict reads. */
export interface Verdict {
  /** Sightings of a task with live workers of two runs at once. */
  duplicates: number;
  stale_writes_accepted: number;
  open_runs_at_end: number;
  runs_without_outcome: number;
  lost_tasks: number;
  doctor_ok: boolean;
}

/** verdict lists what a chaos run's counts say went wrong (empty when all held). */
export function verdict(c: Verdict): string[] {
  const out: string[] = [];
  if (c.duplicates > 0) out.push(`${c.duplicates} sightings of a task with two live workers`);
  if (c.stale_writes_accepted > 0) out.push(`${c.stale_writes_accepted} stale writes took effect`);
  if (c.open_runs_at_end > 0) out.push(`${c.open_runs_at_end} runs still open after the drain`);
  if (c.runs_without_outcome > 0) {
    out.push(`${c.runs_without_outcome} ended runs without an outcome`);
  }
  if (c.lost_tasks !== 0) out.push(`${c.lost_tasks} tasks lost`);
  if (!c.doctor_ok) out.push("kanban doctor failed");
  return out;
}
