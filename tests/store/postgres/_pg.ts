/**
 * The PostgreSQL driver under test: a fresh database per board on the server named by
 * KANBAN_TEST_PG_URL (scripts/test starts one with scripts/pg). Without it every PostgreSQL
 * test is registered as ignored, its name saying why.
 *
 * A fresh board is `CREATE DATABASE kb_<random> TEMPLATE <template>`: copying a migrated
 * template is a few milliseconds, where running the migration into each new database (or a
 * schema per board) costs more, and a database of its own per board keeps the board's
 * notifications (LISTEN/NOTIFY is per database) and its DROP ... WITH (FORCE) cleanup apart
 * from every other test's. The template is migrated once per schema (its name carries a hash
 * of the migrations), under an advisory lock, by whichever test process gets there first.
 * Not a test (the leading underscore keeps `deno test` away).
 */
import { createHash, randomBytes } from "node:crypto";
import postgresClient from "postgres";
import { openStore } from "../../../lib/store/mod.ts";
import { MIGRATIONS } from "../../../lib/store/postgres/migrations.ts";
import { PostgresDriver } from "../../../lib/store/postgres/driver.ts";
import { FakeClock } from "../../_setup.ts";
import type { Board, Driver } from "../_drivers.ts";

/** The test server's URL (its maintenance database), or undefined when none is running. */
export const PG_URL: string | undefined = Deno.env.get("KANBAN_TEST_PG_URL") || undefined;

const TEMPLATE = `kb_tpl_${
  createHash("sha256").update(MIGRATIONS.map((m) => `${m.to}\n${m.sql}`).join("\n")).digest("hex")
    .slice(0, 12)
}`;
/** The advisory lock that makes one process migrate the template ("kbtpl"). */
const TEMPLATE_LOCK = 0x6b6274706c;

type Admin = ReturnType<typeof postgresClient>;
let admin: Admin | null = null;
let template: Promise<void> | null = null;

/** adminPool: one small pool per test process for CREATE and DROP DATABASE. */
export function adminPool(): Admin {
  if (PG_URL === undefined) throw new Error("KANBAN_TEST_PG_URL is not set");
  admin ??= postgresClient(PG_URL, { max: 3, onnotice: () => {}, unref_sockets: true });
  return admin;
}

/** databaseUrl is the test server's URL with another database. */
export function databaseUrl(name: string): string {
  const u = new URL(PG_URL!);
  u.pathname = `/${name}`;
  return u.toString();
}

/** ensureTemplate migrates the template database once (per schema, across processes). */
function ensureTemplate(): Promise<void> {
  template ??= (async () => {
    const reserved = await adminPool().reserve();
    try {
      await reserved`SELECT pg_advisory_lock(${TEMPLATE_LOCK})`;
      const [found] = await reserved`SELECT 1 FROM pg_database WHERE datname = ${TEMPLATE}`;
      if (found === undefined) {
        // migrated under a temporary name and renamed when done: a template that exists is
        // whole, even if a process died half-way through making one
        const building = `${TEMPLATE}_${randomBytes(4).toString("hex")}`;
        await reserved.unsafe(`CREATE DATABASE ${building}`);
        const driver = new PostgresDriver(databaseUrl(building), { create: true });
        try {
          await driver.info();
        } finally {
          await driver.end();
        }
        await reserved.unsafe(`ALTER DATABASE ${building} RENAME TO ${TEMPLATE}`);
      }
    } finally {
      await reserved`SELECT pg_advisory_unlock(${TEMPLATE_LOCK})`.catch(() => {});
      reserved.release();
    }
  })();
  template.catch(() => {
    template = null;
  });
  return template;
}

async function copyTemplate(): Promise<{ name: string; url: string }> {
  await ensureTemplate();
  const name = `kb_${randomBytes(6).toString("hex")}`;
  await adminPool().unsafe(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
  return { name, url: databaseUrl(name) };
}

/**
 * The next board's database, made while the current test runs: copying the template takes
 * tens of milliseconds (more on a busy machine), which a test of many fresh boards (the
 * property test makes a hundred) would otherwise wait for each time. Once a process has asked
 * for one board it keeps one spare; the throw-away cluster goes with whatever is left over.
 */
let spare: Promise<{ name: string; url: string }> | null = null;

/** freshDatabase makes a new, migrated, empty board database and returns its URL. */
export async function freshDatabase(): Promise<{ name: string; url: string }> {
  const next = spare ?? copyTemplate();
  spare = copyTemplate();
  spare.catch(() => {
    spare = null; // the next call makes its own, and reports the error if it recurs
  });
  return await next;
}

/** emptyDatabase makes a new database with nothing in it (no board yet). */
export async function emptyDatabase(): Promise<{ name: string; url: string }> {
  const name = `kb_${randomBytes(6).toString("hex")}`;
  await adminPool().unsafe(`CREATE DATABASE ${name}`);
  return { name, url: databaseUrl(name) };
}

/** dropDatabase removes a board's database, ending whatever connections it still has. */
export async function dropDatabase(name: string): Promise<void> {
  await adminPool().unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/** endStore closes a store and waits until its connections are gone. */
export async function endStore(store: { driver: unknown; close(): void }): Promise<void> {
  if (store.driver instanceof PostgresDriver) await store.driver.end();
  else store.close();
}

/** postgres: a database of its own per board, dropped with the board. */
export const postgres: Driver = {
  name: "postgres",
  skip: PG_URL === undefined
    ? "KANBAN_TEST_PG_URL unset; scripts/test starts a server with scripts/pg"
    : undefined,
  sanitize: false,
  async fresh(options = {}) {
    const db = await freshDatabase();
    const clock = new FakeClock();
    try {
      const store = await openStore(db.url, { clock: clock.now, ...options });
      return {
        store,
        clock,
        location: db.url,
        driver: postgres,
        [Symbol.asyncDispose]: async () => {
          await endStore(store);
          await dropDatabase(db.name);
        },
      } satisfies Board;
    } catch (err) {
      await dropDatabase(db.name);
      throw err;
    }
  },
  async open(location, options = {}) {
    return await openStore(location, options);
  },
};

/** pgTest registers a test of this driver: ignored, saying why, without a server. */
export function pgTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: PG_URL === undefined
      ? `postgres: ${name} (skipped: KANBAN_TEST_PG_URL unset; scripts/test starts a server)`
      : `postgres: ${name}`,
    ignore: PG_URL === undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}
