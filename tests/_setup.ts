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

/** Actors used across tests. */
export const HUMAN = { name: "alice" };
export const DISPATCHER = { name: "dispatcher" };
