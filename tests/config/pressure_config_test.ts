/**
 * config.toml's machine keys: min_free_memory, max_load, memory_limit (dispatch and profile)
 * and the default max_workers derived from the machine's memory; bad values are refused by
 * name.
 */
import assert from "node:assert/strict";
import { ConfigError, parseConfig, SAMPLE_CONFIG } from "../../lib/config/config.ts";

const env = { HOME: "/home/u", KANBAN_HOME: "/home/u/.kanban" };
const GiB = 1024 ** 3;

function refused(toml: string, message: string): void {
  assert.throws(
    () => parseConfig(toml, "config.toml", env, () => 8 * GiB),
    (e: Error) => {
      assert.ok(e instanceof ConfigError, `not a ConfigError: ${e}`);
      assert.equal(e.message, message);
      return true;
    },
  );
}

Deno.test("max_workers unset follows the machine's memory: one per 2 GiB, at least 1, at most 8", () => {
  const workers = (mem: number | null) => parseConfig("", "config.toml", env, () => mem).dispatch;
  assert.deepEqual([workers(1 * GiB).max_workers, workers(1 * GiB).max_workers_from], [
    1,
    "memory",
  ]);
  assert.equal(workers(7.9 * GiB).max_workers, 3);
  assert.equal(workers(16 * GiB).max_workers, 8);
  assert.equal(workers(512 * GiB).max_workers, 8, "capped");
  assert.equal(workers(null).max_workers, 4, "memory unknown: 4");
});

Deno.test("an explicit max_workers wins over the machine's memory", () => {
  const d = parseConfig("[dispatch]\nmax_workers = 20\n", "c.toml", env, () => 2 * GiB).dispatch;
  assert.deepEqual([d.max_workers, d.max_workers_from], [20, "config"]);
});

Deno.test("min_free_memory takes a share, a size or bytes; 0 turns it off; the defaults are 10% and max_load 4", () => {
  const d = (body: string) =>
    parseConfig(`[dispatch]\n${body}\n`, "c.toml", env, () => 8 * GiB).dispatch;
  assert.deepEqual(d("").min_free_memory, { percent: 10 });
  assert.equal(d("").max_load, 4);
  assert.equal(d("").memory_limit, undefined);
  assert.deepEqual(d('min_free_memory = "2GB"').min_free_memory, { bytes: 2 * GiB });
  assert.deepEqual(d('min_free_memory = "12.5%"').min_free_memory, { percent: 12.5 });
  assert.deepEqual(d("min_free_memory = 1048576").min_free_memory, { bytes: 1048576 });
  assert.equal(d("min_free_memory = 0").min_free_memory, null);
  assert.equal(d('min_free_memory = "0%"').min_free_memory, null);
  assert.equal(d("max_load = 0").max_load, null);
  assert.equal(d("max_load = 1.5").max_load, 1.5);
  assert.equal(d('memory_limit = "4GB"').memory_limit, 4 * GiB);
});

Deno.test("bad machine keys are refused, naming the file, the key and the value", () => {
  refused(
    '[dispatch]\nmin_free_memory = "lots"',
    'config.toml: dispatch.min_free_memory: "lots" is neither a share of memory (like "10%") nor a size (like "2GB")',
  );
  refused(
    '[dispatch]\nmin_free_memory = "100%"',
    'config.toml: dispatch.min_free_memory: "100%" must be under 100% (0 turns it off)',
  );
  assert.throws(
    () => parseConfig("[dispatch]\nmax_load = -1", "config.toml", env),
    /config\.toml: dispatch\.max_load: /,
  );
  refused(
    '[dispatch]\nmemory_limit = "1MB"',
    'config.toml: dispatch.memory_limit: "1MB" is smaller than the minimum 16MB',
  );
  refused(
    '[profiles.a]\ncommand = ["true"]\nmemory_limit = "big"',
    'config.toml: profiles.a.memory_limit: "big" is not a size (like 512KB, 10MB)',
  );
});

Deno.test("a profile's memory_limit loads, and the sample config documents the machine keys", () => {
  const c = parseConfig('[profiles.a]\ncommand = ["true"]\nmemory_limit = "512MB"', "c", env);
  assert.equal(c.profiles["a"]!.memory_limit, 512 * 1024 ** 2);
  for (const key of ["min_free_memory", "max_load", "memory_limit"]) {
    assert.match(SAMPLE_CONFIG, new RegExp(`# ${key} = `), key);
  }
});
