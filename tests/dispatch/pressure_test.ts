/**
 * Machine pressure (lib/dispatch/pressure.ts): /proc/meminfo and /proc/loadavg parsed from
 * sample texts (missing and bad files too), swap in use counted against free memory, and the
 * thresholds judged.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  judgePressure,
  type MachineSample,
  parseLoadavg,
  parseMeminfo,
  readMachine,
} from "../../lib/dispatch/pressure.ts";
import { tempDir } from "../_setup.ts";

const MEMINFO = `MemTotal:        8000000 kB
MemFree:          500000 kB
MemAvailable:    3000000 kB
Buffers:           10000 kB
SwapTotal:       2000000 kB
SwapFree:         500000 kB
`;
const KiB = 1024;

Deno.test("parseMeminfo reads MemTotal, MemAvailable and swap in bytes", () => {
  assert.deepEqual(parseMeminfo(MEMINFO), {
    mem_total: 8000000 * KiB,
    mem_available: 3000000 * KiB,
    swap_total: 2000000 * KiB,
    swap_free: 500000 * KiB,
  });
});

Deno.test("parseMeminfo: no MemAvailable or garbage is null; no swap lines is no swap", () => {
  assert.equal(parseMeminfo("MemTotal: 100 kB\nMemFree: 50 kB\n"), null);
  assert.equal(parseMeminfo(""), null);
  assert.equal(parseMeminfo("MemTotal: lots kB\nMemAvailable: 1 kB"), null);
  assert.deepEqual(parseMeminfo("MemTotal: 100 kB\nMemAvailable: 50 kB\n"), {
    mem_total: 100 * KiB,
    mem_available: 50 * KiB,
    swap_total: 0,
    swap_free: 0,
  });
});

Deno.test("parseLoadavg reads the 1-minute figure; garbage is null", () => {
  assert.equal(parseLoadavg("0.35 0.17 0.05 5/126 25702\n"), 0.35);
  assert.equal(parseLoadavg("12 1 1 1/1 1"), 12);
  assert.equal(parseLoadavg(""), null);
  assert.equal(parseLoadavg("-1 2 3"), null);
});

Deno.test("readMachine reads a proc folder; missing or bad files give null, not an error", () => {
  using tmp = tempDir("kanban-proc-");
  const proc = join(tmp.dir, "proc");
  mkdirSync(proc);
  assert.equal(readMachine(proc), null, "no meminfo");
  writeFileSync(join(proc, "meminfo"), MEMINFO);
  const s = readMachine(proc)!;
  assert.equal(s.mem_available, 3000000 * KiB);
  assert.equal(s.load1, 0, "no loadavg: no load");
  writeFileSync(join(proc, "loadavg"), "4.50 1 1 1/1 1\n");
  assert.equal(readMachine(proc)!.load1, 4.5);
  writeFileSync(join(proc, "meminfo"), "not meminfo");
  assert.equal(readMachine(proc), null);
  assert.ok(readMachine() !== null, "this host's /proc reads");
});

const sample = (over: Partial<MachineSample> = {}): MachineSample => ({
  mem_total: 8 * 1024 ** 3,
  mem_available: 4 * 1024 ** 3,
  swap_total: 0,
  swap_free: 0,
  load1: 1,
  cores: 2,
  ...over,
});

Deno.test("judgePressure counts swap in use against free memory", () => {
  const limits = { min_free_memory: { percent: 10 }, max_load: null };
  assert.equal(judgePressure(sample(), limits).held, false);
  // 4 GiB available, but 3.5 GiB of it would go to pages already in swap
  const swapping = sample({ swap_total: 4 * 1024 ** 3, swap_free: 0.5 * 1024 ** 3 });
  const p = judgePressure(swapping, limits);
  assert.equal(p.held, true);
  assert.equal(p.reason, "memory");
  assert.equal(p.free_bytes, 0.5 * 1024 ** 3);
  assert.match(
    p.detail!,
    /free memory 512MB \(available 4096MB minus 3584MB of swap in use\) is under min_free_memory 10% of 8192MB/,
  );
  assert.equal(
    judgePressure(swapping, { min_free_memory: { bytes: 256 * 1024 ** 2 }, max_load: null }).held,
    false,
  );
});

Deno.test("judgePressure holds over max_load per core, memory first; null limits are off; no sample holds nothing", () => {
  const busy = sample({ load1: 7, cores: 2 });
  const p = judgePressure(busy, { min_free_memory: null, max_load: 3 });
  assert.deepEqual([p.held, p.reason, p.load_per_core], [true, "load", 3.5]);
  assert.match(p.detail!, /load 7 on 2 core\(s\) is 3.5 per core, over max_load 3/);
  assert.equal(judgePressure(busy, { min_free_memory: null, max_load: null }).held, false);
  const both = judgePressure(sample({ load1: 9, mem_available: 1 }), {
    min_free_memory: { percent: 10 },
    max_load: 3,
  });
  assert.equal(both.reason, "memory");
  const none = judgePressure(null, { min_free_memory: { percent: 10 }, max_load: 3 });
  assert.deepEqual([none.held, none.free_bytes], [false, null]);
});
