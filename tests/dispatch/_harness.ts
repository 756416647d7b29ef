/**
 * Dispatcher test harness: a temporary kanban home with a board and a config whose profiles
 * run the fake agents in ./agents (shell scripts that call the real dist/kanban), a
 * Dispatcher in this process, and a clock that runs with real time but can be advanced.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config/config.ts";
import {
  Dispatcher,
  type DispatcherOptions,
  type PassReport,
} from "../../lib/dispatch/dispatcher.ts";
import { openStore, type Store, type Task } from "../../lib/store/mod.ts";
import { BINARY } from "../e2e/_binary.ts";
import { tempDir } from "../_setup.ts";

export const AGENTS = fileURLToPath(new URL("./agents/", import.meta.url));

/**
 * A clock that follows real time plus an offset the test can advance: `now` is the wall clock,
 * `mono` the monotonic one. advance() moves both (time passes); step() moves only the wall
 * clock (an NTP correction, a VM resumed), as a real clock step does.
 */
export class ShiftClock {
  offset = 0;
  wallStep = 0;
  now = (): number => Date.now() + this.offset + this.wallStep;
  mono = (): number => performance.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
  step(ms: number): void {
    this.wallStep += ms;
  }
}

export interface Harness extends AsyncDisposable {
  home: string;
  store: Store;
  clock: ShiftClock;
  dispatcher: Dispatcher;
  boardPath: string;
  /** The config the dispatcher runs with, also written to this file (for the CLI). */
  configPath: string;
  /** The environment workers and config loading see. */
  env: Record<string, string>;
  /** Makes another dispatcher on the same board (a second process would do the same). */
  newDispatcher(id?: string, options?: Partial<DispatcherOptions>): Dispatcher;
  create(title: string, assignee: string, extra?: Record<string, unknown>): Promise<Task>;
  /** Runs passes until `done` holds (fails after `timeoutMs`); returns every report. */
  until(
    done: () => Promise<boolean> | boolean,
    timeoutMs?: number,
    d?: Dispatcher,
  ): Promise<PassReport[]>;
  status(id: string): Promise<string>;
}

/** profile makes a profile that runs one fake agent. */
export function agent(script: string, extra = ""): string {
  return `command = ["${join(AGENTS, script)}"]\n${extra}`;
}

/**
 * denoAgent makes a profile that runs a fake agent written in TypeScript (agents/NAME.ts, an
 * MCP client, say) with the Deno that runs these tests and the repository's deno.json; `env`
 * joins its environment.
 */
export function denoAgent(script: string, env: Record<string, string> = {}, extra = ""): string {
  const argv = [
    process.execPath,
    "run",
    "-A",
    "--quiet",
    "--config",
    fileURLToPath(new URL("../../deno.json", import.meta.url)),
    join(AGENTS, script),
  ];
  const vars = Object.entries({ DENO_NO_UPDATE_CHECK: "1", ...env })
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(", ");
  return `command = ${JSON.stringify(argv)}\nenv = { ${vars} }\n${extra}`;
}

export function harness(
  profiles: Record<string, string>,
  dispatch = "",
  extraEnv: Record<string, string> = {},
): Promise<Harness> {
  const tmp = tempDir("kanban-dispatch-");
  const home = tmp.dir;
  const clock = new ShiftClock();
  const boardPath = join(home, "boards", "default", "board.db");
  const store = openStore(boardPath, { create: true, clock: clock.now });
  // Short defaults for tests; a key in `dispatch` replaces its default.
  const defaults = ['poll_interval = "1s"', 'stop_grace = "1s"', 'exit_grace = "2s"']
    .filter((line) => !new RegExp(`^${line.split(" ")[0]} =`, "m").test(dispatch));
  const toml = `[dispatch]\n${defaults.join("\n")}\n${dispatch}\n` +
    Object.entries(profiles).map(([name, body]) => `[profiles.${name}]\n${body}\n`).join("");
  const env = {
    HOME: home,
    KANBAN_HOME: home,
    PATH: "/usr/bin:/bin",
    RELEASE_FILE: join(home, "release"),
    ...extraEnv,
  };
  const configPath = join(home, "config.toml");
  writeFileSync(configPath, toml);
  const config = parseConfig(toml, configPath, env);
  const board = { name: "default", path: boardPath };
  const make = (id?: string, options: Partial<DispatcherOptions> = {}) =>
    new Dispatcher({
      store,
      config,
      board,
      kanbanBin: BINARY,
      env,
      now: clock.now,
      mono: clock.mono,
      // the machine's pressure is the test's to set: a busy shared test host must not hold
      // the workers of tests about something else (tests/dispatch/hold_test.ts sets it)
      pressure: () => null,
      ...options,
      ...(id ? { id } : {}),
    });
  const dispatcher = make("test-dispatcher");
  const h: Harness = {
    home,
    store,
    clock,
    dispatcher,
    boardPath,
    configPath,
    env,
    newDispatcher: make,
    create: async (title, assignee, extra = {}) =>
      (await store.createTask({ title, assignee, ...extra }, { name: "tester" })).task,
    until: async (done, timeoutMs = 15_000, d = dispatcher) => {
      const reports: PassReport[] = [];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        reports.push(await d.runOnce());
        assertOneWorkerPerTask();
        if (await done()) return reports;
        if (Date.now() > deadline) {
          throw new Error(
            `condition not met in ${timeoutMs} ms; last report: ${JSON.stringify(reports.at(-1))}`,
          );
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    status: async (id) => (await store.getTask(id)).status,
    [Symbol.asyncDispose]: async () => {
      dispatcher.stopWorkers();
      for (let i = 0; i < 100 && dispatcher.workerCount > 0; i++) {
        await dispatcher.runOnce();
        await new Promise((r) => setTimeout(r, 50));
      }
      await dispatcher.settle();
      store.close();
      tmp[Symbol.dispose]();
    },
  };
  return Promise.resolve(h);
}

/**
 * liveWorkers reads every process's environment and groups the live ones by the task and
 * run they work for (KANBAN_TASK / KANBAN_RUN): what really runs, whatever the board says.
 */
export function liveWorkers(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let env: string;
    let stat: string;
    try {
      env = readFileSync(`/proc/${name}/environ`, "utf8");
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
    const vars = Object.fromEntries(
      env.split("\0").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
    );
    const task = vars["KANBAN_TASK"];
    const run = vars["KANBAN_RUN"];
    if (task && run) out.set(task, (out.get(task) ?? new Set()).add(run));
  }
  return out;
}

/** assertOneWorkerPerTask fails if any task has live processes of two different runs. */
export function assertOneWorkerPerTask(): void {
  for (const [task, runs] of liveWorkers()) {
    assert.equal(runs.size, 1, `task ${task} has live workers of runs ${[...runs].join(", ")}`);
  }
}

/** pidAlive tells whether a pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return false;
  }
}
