/**
 * The drivers the store's conformance suite runs against. Every test registered with
 * `conformance()` runs once per driver, named `<driver>: <test>`, and sees the board only
 * through the Store API, so that a second driver (PostgreSQL) can run the suite unchanged.
 *
 * A driver joins by adding an entry to KNOWN below. An entry must provide:
 * - `name`: short and stable; it prefixes every test name and is what KANBAN_TEST_DRIVERS lists.
 * - `fresh(options)`: a new, empty, migrated board of its own (no other test sees it), opened
 *   with `options` (lease, failureLimit, backoff, busy timeout, confine) and the board's
 *   FakeClock unless `options.clock` is given; disposing the board closes the store and
 *   removes whatever the board was made of (file, schema, database).
 * - `open(location, options)`: one more connection to an existing board, as another process
 *   would open it; `location` is also what child processes pass to `openStore()`.
 *
 * - `skip` (optional): why its tests cannot run here (a server it needs is missing); they are
 *   then registered as ignored tests whose name says why, never left out silently.
 * - `sanitize` (optional, default true): whether Deno's op and resource sanitizers check its
 *   tests (a server driver's pool closes its sockets after the test has finished).
 *
 * KANBAN_TEST_DRIVERS (comma-separated names) picks drivers; unset means every known driver.
 * Not a test (the leading underscore keeps `deno test` away).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OpenOptions, openStore, type Store } from "../../lib/store/mod.ts";
import { FakeClock } from "../_setup.ts";
import { postgres } from "./postgres/_pg.ts";

/** What a test may ask of a fresh board: everything openStore takes except `create`. */
export type BoardOptions = Omit<OpenOptions, "create">;

/** A fresh board of one driver, disposed with `await using`. */
export interface Board extends AsyncDisposable {
  store: Store;
  /** The clock the store reads (unless the test passed its own). */
  clock: FakeClock;
  /** Where the board lives, as `openStore()` and `Driver.open()` take it. */
  location: string;
  driver: Driver;
}

export interface Driver {
  name: string;
  fresh(options?: BoardOptions): Promise<Board>;
  open(location: string, options?: BoardOptions): Promise<Store>;
  skip?: string | undefined;
  sanitize?: boolean;
}

/** sqlite: a board file in a private temporary directory, removed with the board. */
const sqlite: Driver = {
  name: "sqlite",
  async fresh(options = {}) {
    const dir = mkdtempSync(join(tmpdir(), "kanban-conf-"));
    const location = join(dir, "board.db");
    const clock = new FakeClock();
    try {
      const store = await openStore(location, { create: true, clock: clock.now, ...options });
      return {
        store,
        clock,
        location,
        driver: sqlite,
        [Symbol.asyncDispose]: () => {
          store.close();
          rmSync(dir, { recursive: true, force: true });
          return Promise.resolve();
        },
      };
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  },
  async open(location, options = {}) {
    return await openStore(location, options);
  },
};

const KNOWN: readonly Driver[] = [sqlite, postgres];

/** selected reads KANBAN_TEST_DRIVERS; an unknown name fails every run rather than no test. */
function selected(): readonly Driver[] {
  const wanted = (Deno.env.get("KANBAN_TEST_DRIVERS") ?? "").split(",").map((s) => s.trim())
    .filter((s) => s !== "");
  if (wanted.length === 0) return KNOWN;
  return wanted.map((name) => {
    const d = KNOWN.find((k) => k.name === name);
    if (!d) {
      throw new Error(
        `KANBAN_TEST_DRIVERS names "${name}", which is not a driver under test (known: ${
          KNOWN.map((k) => k.name).join(", ")
        })`,
      );
    }
    return d;
  });
}

/** The drivers this run tests. */
export const DRIVERS: readonly Driver[] = selected();

/**
 * conformance registers `fn` once per driver as `<driver>: <name>`; `fn` makes its boards
 * with `d.fresh()`.
 */
export function conformance(name: string, fn: (d: Driver) => Promise<void> | void): void {
  for (const d of DRIVERS) {
    const sanitize = d.sanitize ?? true;
    Deno.test({
      name: d.skip === undefined ? `${d.name}: ${name}` : `${d.name}: ${name} (skipped: ${d.skip})`,
      ignore: d.skip !== undefined,
      sanitizeOps: sanitize,
      sanitizeResources: sanitize,
      fn: () => fn(d),
    });
  }
}
