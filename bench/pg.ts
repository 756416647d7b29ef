/**
 * bench/pg.ts: the PostgreSQL part of bench/bench.ts alone (see bench/_pg.ts): the raw
 * single-row transaction rate of the server with 1 and with 8 connections, claim + complete
 * cycles with 1 and with 8 dispatcher processes (each as a ratio to the raw rate of the same
 * concurrency), and write-to-spawn latency with 3 `kanban dispatch` hosts on one board.
 *
 *   deno task bench:pg             2,000 tasks per race, 200 spawns (about a minute)
 *   deno task bench:pg --quick     300 tasks per race, 50 spawns
 *   deno task bench:pg --bin PATH  measure another build (default dist/kanban)
 *   deno task bench:pg --dir PATH  make the temporary folders under PATH
 *
 * The server: $KANBAN_BENCH_PG_URL, else $KANBAN_TEST_PG_URL, else a throw-away cluster
 * (scripts/pg) started and stopped here; without a PostgreSQL server the rows are skipped,
 * saying why (exit 0). Exit code 1 when a target is missed, a task was claimed twice, or the
 * server could not be used.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { runtimeName } from "../lib/runtime.ts";
import { PG_FULL, PG_QUICK, pgBench, pgOk, pgRows, stopPg } from "./_pg.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));

function parseArgs(argv: string[]): { quick: boolean; bin: string; dir: string } {
  const args = { quick: false, bin: join(ROOT, "dist", "kanban"), dir: tmpdir() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") args.quick = true;
    else if (a === "--bin" && argv[i + 1] !== undefined) args.bin = resolve(argv[++i]!);
    else if (a === "--dir" && argv[i + 1] !== undefined) args.dir = resolve(argv[++i]!);
    else {
      process.stderr.write(
        `bench:pg: unknown argument "${a}"\n` +
          "usage: deno run -A bench/pg.ts [--quick] [--bin PATH] [--dir PATH]\n",
      );
      process.exit(2);
    }
  }
  return args;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (!existsSync(args.bin)) throw new Error(`${args.bin} is missing: run scripts/build`);
  const dir = mkdtempSync(join(args.dir, "kanban-bench-"));
  process.on("SIGINT", () => {
    stopPg();
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
  try {
    const started = performance.now();
    const outcome = await pgBench({
      bin: args.bin,
      dir,
      parent: args.dir,
      cfg: args.quick ? PG_QUICK : PG_FULL,
      progress: (msg) => process.stderr.write(`bench: ${msg}\n`),
    });
    const cpu = cpus();
    const out = [
      `kanban PostgreSQL bench, ${new Date().toISOString().slice(0, 10)}` +
      (args.quick ? " (--quick)" : ""),
      `  machine  ${cpu[0]?.model ?? "unknown"}, ${cpu.length} logical cores, ` +
      `${(totalmem() / 1024 ** 3).toFixed(1)} GiB RAM; ${runtimeName()} runs the Store API`,
      ...pgRows(outcome),
      "",
      `total ${((performance.now() - started) / 1000).toFixed(1)} s`,
    ];
    process.stdout.write(`${out.join("\n")}\n`);
    return pgOk(outcome) ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`bench:pg: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
