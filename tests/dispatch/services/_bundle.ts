/**
 * A test bundle for running one supervision service alone: a real board (SQLite file) in a
 * temporary kanban home, a config parsed from TOML, a clock the test sets (wall and monotonic
 * apart, so a wall-clock step can be made), a worker table with process-group containment,
 * and the log lines and wake-ups the services produced. Disposed with `await using`.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { parseConfig } from "../../../lib/config/config.ts";
import { type Clock, type Now, WorkerTable } from "../../../lib/dispatch/services/mod.ts";
import type { Worker } from "../../../lib/dispatch/services/workers.ts";
import { readStat } from "../../../lib/dispatch/proc.ts";
import { openStore, type Run, type Store } from "../../../lib/store/mod.ts";
import { tempDir } from "../../_setup.ts";

/** TestClock: the wall and monotonic clocks, each set by the test (nothing moves by itself). */
export class TestClock implements Clock {
  wall = Date.parse("2026-01-01T00:00:00Z");
  monoMs = 1_000_000;
  now = (): number => this.wall;
  mono = (): number => this.monoMs;
  /** advance: time passes (both clocks move). */
  advance(ms: number): void {
    this.wall += ms;
    this.monoMs += ms;
  }
  /** step: only the wall clock jumps (an NTP correction). */
  step(ms: number): void {
    this.wall += ms;
  }
  read(): Now {
    return { wall: this.wall, mono: this.monoMs };
  }
}

export interface Bundle extends AsyncDisposable {
  home: string;
  boardPath: string;
  store: Store;
  clock: TestClock;
  config: () => ReturnType<typeof parseConfig>;
  workers: WorkerTable;
  logs: string[];
  wakes: number;
  /** Starts a real process in its own group (a stand-in worker) and adds it for `run`. */
  supervise(run: Run, argv?: string[]): Worker;
  /** Waits (bounded) until every stop started has finished. */
  stopped(timeoutMs?: number): Promise<void>;
}

export function bundle(toml = ""): Bundle {
  const tmp = tempDir("kanban-service-");
  const home = tmp.dir;
  const clock = new TestClock();
  const boardPath = join(home, "boards", "default", "board.db");
  const store = openStore(boardPath, { create: true, clock: clock.now });
  const env = { HOME: home, KANBAN_HOME: home, PATH: "/usr/bin:/bin" };
  const parsed = parseConfig(
    `[dispatch]\nstop_grace = "1s"\n${toml}`,
    join(home, "config.toml"),
    env,
  );
  const logs: string[] = [];
  const b: Bundle = {
    home,
    boardPath,
    store,
    clock,
    config: () => parsed,
    logs,
    wakes: 0,
    workers: new WorkerTable({
      clock,
      config: () => parsed,
      containment: { kind: "group", root: null, why: "test" },
      log: (line) => logs.push(line),
      wake: () => b.wakes++,
    }),
    supervise(run, argv = ["sleep", "30"]) {
      const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: "ignore" });
      const pid = child.pid!;
      const w = b.workers.make(run, pid, readStat(pid)?.startTime ?? null, child, null, null);
      child.once("exit", (code, signal) => b.workers.exited(w, code, signal));
      b.workers.set(w);
      return w;
    },
    async stopped(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (b.workers.all().some((w) => w.stop && w.stop.result === null)) {
        if (Date.now() > deadline) throw new Error(`stops not done in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    [Symbol.asyncDispose]: async () => {
      b.workers.stopAll("stopped", "test over");
      await b.stopped();
      for (const w of b.workers.all()) {
        if (w.child && w.exit === null) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          await Promise.race([
            new Promise((r) => w.child!.once("exit", r)),
            new Promise((r) => (timer = setTimeout(r, 5_000))),
          ]);
          clearTimeout(timer);
        }
      }
      store.close();
      tmp[Symbol.dispose]();
    },
  };
  return b;
}
