/**
 * Fault-injection harness: a temporary kanban home with a board, a config, and the real
 * compiled binary run as `kanban dispatch` processes that a test kills, signals, runs under
 * libfaketime, or pulls the board file from under. The truth about what runs is read from
 * /proc (tests/dispatch/_harness.ts liveWorkers), never from the board.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import process from "node:process";
import { join } from "node:path";
import { openStore, type Store } from "../../lib/store/mod.ts";
import { BINARY } from "../e2e/_binary.ts";
import { MACHINE_OFF, tempDir } from "../_setup.ts";
import { LIBFAKETIME as CHAOS_LIBFAKETIME } from "../../scripts/chaos.ts";
import { AGENTS, assertOneWorkerPerTask, liveWorkers } from "../dispatch/_harness.ts";

export { AGENTS, assertOneWorkerPerTask, liveWorkers };

/** libfaketime (scripts/setup --faults), found where scripts/chaos.ts finds it; "" when absent. */
export const LIBFAKETIME = CHAOS_LIBFAKETIME ?? "";
export const HAVE_FAKETIME = LIBFAKETIME !== "";

export type Dispatch = ChildProcess & {
  output: () => string;
  signal: (s: NodeJS.Signals) => void;
  exited: () => Promise<number | null>;
};

export interface Faults extends Disposable {
  home: string;
  boardPath: string;
  env: Record<string, string>;
  store: Store;
  /** Starts `kanban dispatch` (extra env: e.g. LD_PRELOAD for libfaketime). */
  start(args?: string[], env?: Record<string, string>): Dispatch;
  release(): void;
}

/**
 * faults makes the home: `dispatch` lines go into [dispatch], `profiles` maps a profile name
 * to its TOML body.
 */
export function faults(profiles: Record<string, string>, dispatch = ""): Faults {
  const tmp = tempDir("kanban-faults-");
  const env = {
    HOME: tmp.dir,
    KANBAN_HOME: tmp.dir,
    PATH: "/usr/bin:/bin",
    RELEASE_FILE: join(tmp.dir, "release"),
  };
  writeFileSync(
    join(tmp.dir, "config.toml"),
    `[dispatch]\n${MACHINE_OFF}poll_interval = "1s"\ndispatcher_lease = "3s"\nstop_grace = "1s"\n${dispatch}\n` +
      Object.entries(profiles).map(([name, body]) => `[profiles.${name}]\n${body}\n`).join(""),
  );
  const boardPath = join(tmp.dir, "boards", "default", "board.db");
  const store = openStore(boardPath, { create: true });
  const children: ChildProcess[] = [];
  return {
    home: tmp.dir,
    boardPath,
    env,
    store,
    start: (args = [], extra = {}) => {
      const child = spawn(BINARY, ["dispatch", ...args], {
        env: { ...env, ...extra },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      children.push(child);
      const exit = new Promise<number | null>((r) =>
        child.once("exit", (code, signal) => r(code ?? (signal ? 128 : null)))
      );
      return Object.assign(child, {
        output: () => out,
        // signal the pid itself, as systemd or a shell would
        signal: (sig: NodeJS.Signals) => process.kill(child.pid!, sig),
        exited: () => exit,
      });
    },
    release: () => writeFileSync(env.RELEASE_FILE, ""),
    [Symbol.dispose]: () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      writeFileSync(env.RELEASE_FILE, "");
      store.close();
      tmp[Symbol.dispose]();
    },
  };
}

/** until polls `done` every 50 ms (checking one worker per task each time) for up to `ms`. */
export async function until(
  what: string,
  done: () => Promise<boolean> | boolean,
  ms = 15_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    assertOneWorkerPerTask();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** agentCommand is the TOML line that runs one of tests/dispatch/agents. */
export const agentCommand = (script: string) => `command = ["${join(AGENTS, script)}"]`;
