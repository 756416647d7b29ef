/**
 * Test helpers: a fresh board file per test with an injected clock, disposed with
 * `await using`. Every test gets real SQLite on disk; nothing is mocked.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OpenOptions, openStore, type Store } from "../lib/store/mod.ts";

/** FakeClock is a settable clock: `clock.now()` is what the store sees. */
export class FakeClock {
  #ms: number;
  constructor(start = Date.parse("2026-01-01T00:00:00Z")) {
    this.#ms = start;
  }
  now = (): number => this.#ms;
  advance(ms: number): void {
    this.#ms += ms;
  }
  set(ms: number): void {
    this.#ms = ms;
  }
}

export interface Bundle {
  store: Store;
  clock: FakeClock;
  dir: string;
  path: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** tempDir makes a private directory, removed by the returned disposer. */
export function tempDir(prefix = "kanban-test-"): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** setup opens a new board in a fresh temporary directory. */
export function setup(options: OpenOptions = {}): Bundle {
  const dir = mkdtempSync(join(tmpdir(), "kanban-test-"));
  const path = join(dir, "board.db");
  const clock = new FakeClock();
  const store = openStore(path, { create: true, clock: clock.now, ...options });
  return {
    store,
    clock,
    dir,
    path,
    [Symbol.asyncDispose]: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}

/**
 * MACHINE_OFF: [dispatch] lines of config.toml that turn a real dispatcher's machine holds off
 * (lib/dispatch/pressure.ts). On a test host the load is the suite's own, tens of processes on
 * two cores: a 1-minute load over 4 per core would otherwise hold every new worker until it
 * fell, and a test waiting for a start would wait that long. The tests of the holds set theirs.
 */
export const MACHINE_OFF = "max_load = 0\nmin_free_memory = 0\n";

/** Actors used across tests. */
export const HUMAN = { name: "alice" };
export const DISPATCHER = { name: "dispatcher" };
