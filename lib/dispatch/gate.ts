/**
 * Running a completion gate (docs/gates.md): the command a person configured that must succeed
 * before a task reaches done. It runs on the dispatcher's host, in the task's workspace, in its
 * own process group, with a time limit; only the last GATE_OUTPUT_MAX bytes of its output
 * (stdout and stderr, interleaved) are kept, to be quoted to the next worker.
 */

import { spawn } from "node:child_process";
import { signalGroup } from "./proc.ts";
import { GATE_ROUNDS_DEFAULT, GATE_TIMEOUT_DEFAULT_MS, type Profile } from "../config/config.ts";
import { quote } from "./quote.ts";

/** The most output of a gate that is kept (its tail), in characters. */
export const GATE_OUTPUT_MAX = 8 * 1024;

/** What one gate run gave: passed only when it exited 0 within its time limit. */
export interface GateResult {
  passed: boolean;
  /** The exit code, or null when it was killed (time limit) or could not start. */
  exit_code: number | null;
  /** The tail of its output, plus a line saying why when it timed out or could not start. */
  output: string;
  duration_ms: number;
  timed_out: boolean;
}

/** What runGate needs: the argv (placeholders already filled), where and how long. */
export interface GateRun {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  /** The monotonic clock durations are measured with (performance.now by default). */
  now?: () => number;
  /** Aborting it kills the gate's process group (the gate fails, saying why). */
  signal?: AbortSignal;
  /** Told the gate's pid (its process group) once it started. */
  started?: (pid: number) => void;
}

/** A profile's gate with its defaults applied: the argv, its time limit in ms, its rounds. */
export interface GateSettings {
  argv: string[];
  timeoutMs: number;
  rounds: number;
}

/** gateSettings is a profile's gate with the defaults applied, or null when it has none. */
export function gateSettings(
  p: Pick<Profile, "gate" | "gate_timeout" | "gate_rounds">,
): GateSettings | null {
  if (p.gate === undefined) return null;
  return {
    argv: p.gate,
    timeoutMs: p.gate_timeout ?? GATE_TIMEOUT_DEFAULT_MS,
    rounds: p.gate_rounds ?? GATE_ROUNDS_DEFAULT,
  };
}

/** fillGate replaces the gate's `{name}` placeholders with the values given. */
export function fillGate(argv: string[], values: Record<string, string>): string[] {
  return argv.map((a) => a.replace(/\{([a-z_]+)\}/g, (m, name: string) => values[name] ?? m));
}

/** tail keeps the last `max` characters of `text`, saying how much was cut. */
function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  return `[... ${text.length - max} characters cut]\n${text.slice(-max)}`;
}

/**
 * runGate runs one gate to its end and reports it; it never throws (a gate that cannot start
 * fails, with the reason as its output). A gate over its time limit has its whole process
 * group killed and fails.
 */
export function runGate(run: GateRun): Promise<GateResult> {
  const now = run.now ?? (() => performance.now());
  const started = now();
  return new Promise((resolve) => {
    let output = "";
    let timedOut = false;
    let stopped: string | null = null;
    let settled = false;
    const keep = (chunk: string) => {
      output = (output + chunk).slice(-(GATE_OUTPUT_MAX * 2));
    };
    const finish = (exitCode: number | null, note?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      run.signal?.removeEventListener("abort", onAbort);
      const kept = tail(output, GATE_OUTPUT_MAX);
      const sep = kept === "" || kept.endsWith("\n") ? "" : "\n";
      const text = note ? `${kept}${sep}${note}` : kept;
      resolve({
        passed: exitCode === 0 && !timedOut,
        exit_code: exitCode,
        output: text,
        duration_ms: Math.round(now() - started),
        timed_out: timedOut,
      });
    };
    const [program, ...args] = run.argv;
    const child = spawn(program!, args, {
      cwd: run.cwd,
      env: run.env,
      detached: true, // its own group: a time limit kills a whole pipeline
      stdio: ["ignore", "pipe", "pipe"],
    });
    const kill = () => {
      if (child.pid === undefined || !signalGroup(child.pid, "SIGKILL")) child.kill("SIGKILL");
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, run.timeoutMs);
    const onAbort = () => {
      stopped = String(run.signal?.reason ?? "stopped");
      kill();
    };
    if (run.signal?.aborted) onAbort();
    else run.signal?.addEventListener("abort", onAbort, { once: true });
    if (child.pid !== undefined) run.started?.(child.pid);
    child.once("error", (err) => finish(null, `gate could not start: ${err.message}`));
    child.stdout!.setEncoding("utf8").on("data", keep);
    child.stderr!.setEncoding("utf8").on("data", keep);
    child.once("close", (code, signal) => {
      if (stopped !== null) finish(null, `gate stopped: ${stopped}`);
      else if (timedOut) finish(null, `gate ran longer than ${run.timeoutMs} ms and was killed`);
      else if (signal) finish(null, `gate killed by ${signal}`);
      else finish(code);
    });
  });
}

/** A failed gate, as the next worker's prompt shows it. */
export interface GateFailure {
  /** This failure's round (1 for the first failed gate). */
  round: number;
  /** The rounds before the task is blocked (gate_rounds). */
  rounds: number;
  exit_code: number | null;
  /** The tail of the gate's output (runGate's `output`). */
  output: string;
}

/**
 * gateFailedSection is the worker's prompt section after a failed gate: which round, what the
 * gate said (quoted, so its output can start no section of its own), and what happens next.
 */
export function gateFailedSection(f: GateFailure): string[] {
  const exit = f.exit_code === null ? "did not finish" : `exited with code ${f.exit_code}`;
  // the task is blocked once a gate fails in round `rounds`: the next gate may be that one
  const next = f.round + 1;
  const last = next >= f.rounds;
  return [
    `## Completion gate failed (round ${f.round} of ${f.rounds})`,
    "",
    `You completed this task, but its completion gate (a check a person configured) ${exit}. ` +
    "Its output:",
    "",
    quote(f.output.trimEnd() || "(no output)"),
    "",
    "Fix what it reports, then finish with `kanban complete` as below: the gate runs again " +
    `(round ${next} of ${f.rounds})` +
    (last ? ", its last round: if it fails again, the task is blocked for a person." : "."),
  ];
}
