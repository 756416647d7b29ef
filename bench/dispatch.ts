/**
 * bench/dispatch.ts: the dispatcher part of bench/bench.ts alone (see bench/_dispatch.ts):
 * how fast `kanban dispatch` starts a worker after a task becomes ready, and what an idle
 * dispatcher costs. `deno task bench` prints the same figures with the rest.
 *
 *   deno task bench:dispatch           200 tasks, 10 s idle
 *   deno task bench:dispatch --quick   50 tasks, 2 s idle
 *   deno task bench:dispatch --bin PATH   measure another build (default dist/kanban)
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { DISPATCH_TARGET_MS, dispatchBench } from "./_dispatch.ts";
import { ms } from "./_stats.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const binAt = process.argv.indexOf("--bin");
const BIN = binAt >= 0 ? resolve(process.argv[binAt + 1] ?? "") : join(ROOT, "dist", "kanban");
const quick = process.argv.includes("--quick");

async function main(): Promise<number> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run scripts/build`);
  const home = mkdtempSync(join(tmpdir(), "kanban-bench-dispatch-"));
  try {
    const r = await dispatchBench(BIN, home, quick ? 50 : 200, quick ? 2_000 : 10_000);
    const s = r.latency;
    const ok = s.median < DISPATCH_TARGET_MS;
    console.log(
      `kanban dispatch bench, ${new Date().toISOString().slice(0, 10)}, ${r.tasks} tasks`,
    );
    console.log(
      `  write -> worker start   median ${ms(s.median)}  p90 ${ms(s.p90)}  p99 ${ms(s.p99)}  ` +
        `max ${ms(s.max)}  target < ${DISPATCH_TARGET_MS} ms  ${ok ? "OK" : "MISSED"}`,
    );
    console.log(
      `  idle dispatcher         RSS ${(r.rssKiB / 1024).toFixed(1)} MiB  CPU ${
        r.cpuPct.toFixed(2)
      }% over ${r.idleMs / 1000} s`,
    );
    return ok ? 0 : 1;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

process.exitCode = await main();
