/**
 * Containment: finding and stopping everything a worker started, not only its process group.
 *
 * Where the host offers it, each run gets a cgroup v2 of its own, `<ours>/kanban/<board>/run-<id>`
 * under the dispatcher's own cgroup; the worker is moved in right after its spawn and everything
 * it forks later is born inside, whatever it does with sessions or process groups. Stopping
 * kills the cgroup (`cgroup.kill`) and checks that it is empty. Elsewhere containment is the
 * process group, and a process that left it (setsid) is still found by the run's lease token in
 * its environment (`KANBAN_TOKEN`, which children inherit unless they clear it). Both kinds scan
 * for the token too, which also finds a worker whose pid was never recorded (a dispatcher crash
 * between spawn and record). docs/dispatcher.md, "Containment", says what holds with each kind.
 */
import { spawnSync } from "node:child_process";
import { Buffer } from "node:buffer";
import {
  type Dirent,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { WORKER_VARS } from "../worker_env.ts";
import {
  isTarget,
  type ProcStat,
  readStat,
  signalGroup,
  signalPid,
  sleep,
  type StopResult,
} from "./proc.ts";

/** How this dispatcher contains its workers: a cgroup v2 subtree where the host offers it, the process group otherwise. */
export interface Containment {
  kind: "cgroup" | "group";
  /** The folder holding the run cgroups (`<v2 mount><our cgroup>/kanban/<scope>`); null for "group". */
  root: string | null;
  /** Why this kind, in words for the log: the folder used, or what was missing or refused. */
  why: string;
}

/** "auto": cgroups where they work, else the group; "cgroup": cgroups or an error; "group": never cgroups. */
export type ContainmentMode = "auto" | "cgroup" | "group";

/** ContainError: a run's cgroup could not be made, entered or read. */
export class ContainError extends Error {
  readonly code = "ECONTAIN";
}

/** A process of a run, fingerprinted: a reused pid has another start time and is never taken. */
export interface RunProcess {
  pid: number;
  startTime: number;
}

const SCOPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * containment finds, once at dispatcher start, how workers of board `scope` (its board key)
 * are contained: the cgroup v2 mount (from /proc/self/mountinfo), our own cgroup (the "0::"
 * line of /proc/self/cgroup), and whether `<own>/kanban/<scope>` can be made and a process moved
 * into a cgroup under it (a real move of a short-lived `sh`, so delegation and the kernel's
 * rules are tested, not guessed). Mode "cgroup" throws a ContainError when that fails.
 */
export function containment(scope: string, mode: ContainmentMode = "auto"): Containment {
  if (!SCOPE.test(scope)) throw new ContainError(`bad containment scope "${scope}"`);
  if (mode === "group") {
    return { kind: "group", root: null, why: 'process group (containment = "group")' };
  }
  const found = cgroupRoot(scope);
  if (typeof found === "string") return { kind: "cgroup", root: found, why: `cgroup v2 ${found}` };
  if (mode === "cgroup") {
    throw new ContainError(`cgroup containment was asked for, but ${found.why}`);
  }
  return { kind: "group", root: null, why: `process group (no cgroup: ${found.why})` };
}

/** cgroupRoot makes and probes `<own>/kanban/<scope>`; returns its path or why not. */
function cgroupRoot(scope: string): string | { why: string } {
  let mountinfo: string, self: string;
  try {
    mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
    self = readFileSync("/proc/self/cgroup", "utf8");
  } catch {
    return { why: "no /proc/self/mountinfo or /proc/self/cgroup (not Linux?)" };
  }
  const own = /^0::(\/.*)$/m.exec(self)?.[1];
  if (own === undefined) return { why: "this process is in no cgroup v2 (no 0:: line)" };
  // mountinfo: id parent dev root mountpoint opts... - fstype source superopts
  let base: string | null = null;
  for (const line of mountinfo.split("\n")) {
    const [left, right] = line.split(" - ");
    if (!right?.startsWith("cgroup2 ")) continue;
    const f = left!.split(" ");
    const root = unescape(f[3] ?? "");
    const point = unescape(f[4] ?? "");
    if (own === root || own.startsWith(root === "/" ? "/" : `${root}/`)) {
      base = join(point, own.slice(root === "/" ? 0 : root.length));
      break;
    }
  }
  if (base === null) return { why: `no cgroup v2 mount shows our cgroup ${own}` };
  const dir = join(base, "kanban", scope);
  try {
    readFileSync(join(base, "cgroup.procs")); // a cgroup folder, readable
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    return { why: `cannot make ${dir}: ${(err as Error).message}` };
  }
  try {
    statSync(join(dir, "cgroup.kill"));
  } catch {
    // Without cgroup.kill (Linux < 5.14) a cgroup cannot be killed in one step.
    return { why: `${dir} has no cgroup.kill (Linux 5.14 or later needed)` };
  }
  const probe = join(dir, `probe-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(probe);
    // `echo 0` moves the writing process itself: a real move, of a process about to exit.
    const r = spawnSync("/bin/sh", ["-c", 'echo 0 > "$1"', "sh", join(probe, "cgroup.procs")], {
      encoding: "utf8",
      timeout: 5_000,
      stdio: ["ignore", "ignore", "pipe"],
    });
    if (r.status !== 0) {
      const said = (r.stderr ?? "").trim() || r.error?.message || `exit ${r.status}`;
      return { why: `cannot move a process into ${probe}: ${said}` };
    }
  } catch (err) {
    return { why: `cannot probe ${dir}: ${(err as Error).message}` };
  } finally {
    removeTree(probe);
  }
  return dir;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** runCgroup is the folder of run `runId`'s cgroup, or null when containment is the group. */
export function runCgroup(c: Containment, runId: number): string | null {
  if (!Number.isSafeInteger(runId) || runId <= 0) throw new ContainError(`bad run id ${runId}`);
  return c.kind === "cgroup" && c.root !== null ? join(c.root, `run-${runId}`) : null;
}

/**
 * prepareRun makes run `runId`'s cgroup before its spawn (nothing for "group"), and writes
 * `memoryMax` (bytes) to its `memory.max` when given; throws ContainError.
 */
export function prepareRun(c: Containment, runId: number, memoryMax: number | null = null): void {
  const dir = runCgroup(c, runId);
  if (dir === null) return;
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new ContainError(`cannot make the run's cgroup ${dir}: ${(err as Error).message}`);
  }
  if (memoryMax === null) return;
  try {
    writeFileSync(join(dir, "memory.max"), String(memoryMax));
  } catch (err) {
    throw new ContainError(`cannot set ${join(dir, "memory.max")}: ${(err as Error).message}`);
  }
}

/**
 * memoryControl makes the memory controller available to the run cgroups (it enables
 * `+memory` in the subtree_control of `<own>/kanban` and of the board's folder, which hold no
 * process) and returns null when a run's `memory.max` can be written, else why not in words.
 * The dispatcher's own cgroup must already pass the controller down (its subtree_control lists
 * memory: the root cgroup, or a delegated one whose processes sit in a leaf); that is the
 * host's set-up, not ours (docs/dispatcher.md, "Memory").
 */
export function memoryControl(c: Containment): string | null {
  if (c.kind !== "cgroup" || c.root === null) return `workers run in a process group (${c.why})`;
  const board = c.root;
  const kanban = join(board, "..");
  for (const dir of [kanban, board]) {
    let has: string;
    try {
      has = readFileSync(join(dir, "cgroup.controllers"), "utf8");
    } catch (err) {
      return `cannot read ${join(dir, "cgroup.controllers")}: ${(err as Error).message}`;
    }
    if (!/\bmemory\b/.test(has)) {
      return `the memory controller is not passed down to ${dir} (its cgroup.controllers: ${
        has.trim() || "none"
      })`;
    }
    try {
      writeFileSync(join(dir, "cgroup.subtree_control"), "+memory");
    } catch (err) {
      return `cannot enable memory in ${join(dir, "cgroup.subtree_control")}: ${
        (err as Error).message
      }`;
    }
  }
  return null;
}

/**
 * enterRun moves process `pid` into run `runId`'s cgroup (nothing for "group"). False when the
 * process is gone already (it exited: nothing is left to contain); throws ContainError when the
 * move is refused.
 */
export function enterRun(c: Containment, runId: number, pid: number): boolean {
  const dir = runCgroup(c, runId);
  if (dir === null) return true;
  if (!isTarget(pid)) throw new ContainError(`cannot move pid ${pid} into ${dir}`);
  try {
    writeFileSync(join(dir, "cgroup.procs"), String(pid));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw new ContainError(`cannot move pid ${pid} into ${dir}: ${(err as Error).message}`);
  }
}

/**
 * enterArgv wraps a worker's command so that it moves itself into run `runId`'s cgroup before
 * it runs (`sh -c 'echo 0 > <cgroup.procs> && exec "$@"'`): nothing it forks is ever born
 * outside. Moving it from the parent after the spawn came too late for half of the workers that
 * fork at once (20 of 40 measured here). A refused move ends it with exit code 126 before the
 * program runs. The program then sees its full path as argv[0]. Unchanged for "group".
 */
export function enterArgv(c: Containment, runId: number, argv: string[]): string[] {
  const dir = runCgroup(c, runId);
  if (dir === null) return argv;
  const script = 'echo 0 > "$1" || exit 126; shift; exec "$@"';
  return ["/bin/sh", "-c", script, "kanban-enter", join(dir, "cgroup.procs"), ...argv];
}

/** cgroupPids lists the pids in a cgroup and every cgroup below it ([] when it is gone). */
function cgroupPids(dir: string): number[] {
  let text: string, entries: Dirent[];
  try {
    text = readFileSync(join(dir, "cgroup.procs"), "utf8");
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out = text.split("\n").filter(Boolean).map(Number);
  for (const e of entries) if (e.isDirectory()) out.push(...cgroupPids(join(dir, e.name)));
  return out;
}

/** hasToken: the environment block holds exactly `KANBAN_TOKEN=<token>` as one entry. */
function hasToken(environ: Buffer, entry: Buffer): boolean {
  for (let i = environ.indexOf(entry); i !== -1; i = environ.indexOf(entry, i + 1)) {
    const end = i + entry.length;
    if ((i === 0 || environ[i - 1] === 0) && (end === environ.length || environ[end] === 0)) {
      return true;
    }
  }
  return false;
}

/**
 * runProcesses lists every live process of run `runId`: the members of its cgroup (and of
 * cgroups below it), plus every process whose /proc/<pid>/environ holds KANBAN_TOKEN=<token>
 * (a worker started but not yet moved into its cgroup, a process forked before the move, or
 * any process of the run on a host without cgroups). Skips our own pid, pid 1 and zombies;
 * each is fingerprinted with its start time. A null or empty token skips the environ scan.
 */
export function runProcesses(c: Containment, runId: number, token: string | null): RunProcess[] {
  return scan(c, runId, null, token);
}

/** scan: runProcesses, plus the members of process group `pgid` when it is a target. */
function scan(c: Containment, runId: number, pgid: number | null, token: string | null) {
  const dir = runCgroup(c, runId);
  const members = new Set(dir === null ? [] : cgroupPids(dir));
  const entry = token ? Buffer.from(`${WORKER_VARS.token}=${token}`) : null;
  const group = pgid !== null && isTarget(pgid) ? pgid : null;
  const out: RunProcess[] = [];
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    names = [];
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (!isTarget(pid) || pid === process.pid) continue;
    const st = readStat(pid);
    if (!alive(st)) continue;
    let ours = members.has(pid) || (group !== null && st.pgrp === group);
    if (!ours && entry !== null) {
      try {
        ours = hasToken(readFileSync(`/proc/${pid}/environ`), entry);
      } catch {
        // gone meanwhile, or not ours to read (another user's process cannot be ours)
      }
    }
    if (ours) out.push({ pid, startTime: st.startTime });
  }
  return out;
}

/** populated: the run's cgroup still holds a process (false for a gone cgroup or "group"). */
function populated(c: Containment, runId: number): boolean {
  const dir = runCgroup(c, runId);
  if (dir === null) return false;
  try {
    return /^populated 1$/m.test(readFileSync(join(dir, "cgroup.events"), "utf8"));
  } catch {
    return false;
  }
}

/** killCgroup SIGKILLs every process in run `runId`'s cgroup and below (only a run cgroup). */
function killCgroup(c: Containment, runId: number): void {
  const dir = runCgroup(c, runId);
  if (dir === null) return;
  try {
    writeFileSync(join(dir, "cgroup.kill"), "1");
  } catch {
    // gone already, or cgroup.kill refused: the per-pid SIGKILL below still runs
  }
}

/** The run to stop: its id, its worker's process group (null when unknown) and its lease token. */
export interface RunRef {
  runId: number;
  pgid: number | null;
  token: string | null;
}

const POLL_MS = 100;
const FULL_SCAN_MS = 1_000;
const KILL_WAIT_MS = 5_000;

/** alive: a process that is there and not a zombie. */
function alive(st: ProcStat | null): st is ProcStat {
  return st !== null && st.state !== "Z" && st.state !== "X";
}

/** still: which of `known` are still alive, plus the run cgroup's members: no /proc scan. */
function still(c: Containment, runId: number, known: RunProcess[]): RunProcess[] {
  const out = new Map<number, RunProcess>();
  for (const p of known) {
    const st = readStat(p.pid);
    if (alive(st) && st.startTime === p.startTime) out.set(p.pid, p);
  }
  const dir = runCgroup(c, runId);
  for (const pid of dir === null ? [] : cgroupPids(dir)) {
    if (out.has(pid) || !isTarget(pid) || pid === process.pid) continue;
    const st = readStat(pid);
    if (alive(st)) out.set(pid, { pid, startTime: st.startTime });
  }
  return [...out.values()];
}

/**
 * stopRun stops everything of a run: SIGTERM and SIGCONT to the worker's group and to every
 * process runProcesses finds (including those that appear during the grace), up to `graceMs`
 * for all to exit, then SIGKILL (cgroup.kill where available, and each process), then verifies:
 * the cgroup is empty (cgroup.events "populated 0"), no process of the group or with the token
 * is left. Then it removes the run's cgroup. `survivors` lists what is left after 5 s of
 * SIGKILL (a process in uninterruptible sleep); the caller counts those as still running. It
 * waits on timers: every 100 ms it checks the processes it knows and the cgroup, and it scans
 * all of /proc (the costly part, see docs/dispatcher.md) only once a second and to confirm
 * that nothing is left.
 */
export async function stopRun(c: Containment, run: RunRef, graceMs: number): Promise<StopResult> {
  const started = performance.now();
  const since = (t: number) => performance.now() - t;
  const pgid = run.pgid !== null && isTarget(run.pgid) ? run.pgid : null;
  let scanned = 0;
  const find = () => {
    scanned = performance.now();
    return scan(c, run.runId, pgid, run.token);
  };
  let found = find();
  const refresh = () => since(scanned) >= FULL_SCAN_MS ? find() : still(c, run.runId, found);
  /** Nothing left: the quick check says so, and a full scan confirms it. */
  const empty = () => {
    if (found.length > 0 || populated(c, run.runId)) return false;
    found = find();
    return found.length === 0 && !populated(c, run.runId);
  };
  const signalled = new Set<string>();
  if (pgid !== null) {
    signalGroup(pgid, "SIGTERM");
    signalGroup(pgid, "SIGCONT");
  }
  // SIGTERM once to each process, including those that appear during the grace.
  const term = () => {
    for (const p of found) {
      const key = `${p.pid}:${p.startTime}`;
      if (signalled.has(key)) continue;
      signalled.add(key);
      signalPid(p.pid, p.startTime, "SIGTERM");
      // A stopped (SIGSTOP) process cannot act on SIGTERM until it is continued.
      signalPid(p.pid, p.startTime, "SIGCONT");
    }
  };
  const took = () => Math.round(since(started));
  while (since(started) < graceMs) {
    if (empty()) {
      release(c, run.runId);
      return { killed: false, survivors: [], tookMs: took() };
    }
    term();
    await sleep(Math.min(POLL_MS, Math.max(1, graceMs - since(started))));
    found = refresh();
  }
  const kill = () => {
    killCgroup(c, run.runId);
    if (pgid !== null) signalGroup(pgid, "SIGKILL");
    for (const p of found) signalPid(p.pid, p.startTime, "SIGKILL");
  };
  found = find();
  const killed = !empty();
  const killedAt = performance.now();
  while (killed && since(killedAt) < KILL_WAIT_MS) {
    kill();
    await sleep(POLL_MS / 2);
    found = refresh();
    if (empty()) break;
  }
  if (found.length === 0) release(c, run.runId);
  return { killed, survivors: found.map((p) => p.pid), tookMs: took() };
}

/** removeTree removes a cgroup folder and the (empty) cgroups below it; false when one is busy. */
function removeTree(dir: string): boolean {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return true; // gone already
  }
  let ok = true;
  for (const e of entries) if (e.isDirectory()) ok = removeTree(join(dir, e.name)) && ok;
  try {
    rmdirSync(dir);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT" ? ok : false;
  }
  return ok;
}

/**
 * release removes run `runId`'s cgroup once it is empty (after its worker exited by itself and
 * was reaped, or after stopRun). True when it is gone (or there is none); false while a process
 * is still in it.
 */
export function release(c: Containment, runId: number): boolean {
  const dir = runCgroup(c, runId);
  return dir === null ? true : removeTree(dir);
}

/** runCgroups lists the run ids that still have a cgroup (to release those of ended runs). */
export function runCgroups(c: Containment): number[] {
  if (c.kind !== "cgroup" || c.root === null) return [];
  try {
    return readdirSync(c.root)
      .map((n) => /^run-(\d+)$/.exec(n)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * retire removes this dispatcher's folder of run cgroups at its exit, if no run cgroup is left
 * in it (release each ended run first). It never removes a run cgroup itself: another dispatcher
 * of the same board in the same cgroup (a standby) shares the folder, and one of its runs may
 * have a cgroup that is still empty because its worker is being spawned. True when it is gone.
 */
export function retire(c: Containment): boolean {
  if (c.kind !== "cgroup" || c.root === null) return true;
  try {
    rmdirSync(c.root);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ENOENT";
  }
}
