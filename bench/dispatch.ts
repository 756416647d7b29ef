/**
 * bench/dispatch.ts: how fast `kanban dispatch` starts a worker after a task becomes ready,
 * and what an idle dispatcher costs.
 *
 *   deno task bench:dispatch           200 tasks
 *   deno task bench:dispatch --quick   50 tasks
 *
 * A real `dist/kanban dispatch` process runs on a temporary board whose one profile starts a
 * tiny agent that appends "<task> <epoch ns>" to a file, then completes. Tasks are created
 * one at a time through the Store API (from this process, as another program would); the
 * latency is from the create's commit to the agent's first line, so it includes the wake-up,
 * the claim, the workspace, the spawn and the shell's start. Then the dispatcher idles for a
 * few seconds and its RSS and CPU time are read from /proc.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { openStore } from "../lib/store/mod.ts";
import { ms, summarize } from "./_stats.ts";

const ROOT = resolve(fileURLToPath(new URL("..", import.meta.url)));
const BIN = join(ROOT, "dist", "kanban");
const TARGET_MS = 250;
const quick = process.argv.includes("--quick");
const TASKS = quick ? 50 : 200;

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

function procStat(pid: number): { rssKiB: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { rssKiB: rss, cpuTicks: Number(f[11]) + Number(f[12]) };
}

async function main(): Promise<number> {
  if (!existsSync(BIN)) throw new Error("dist/kanban is missing: run scripts/build");
  const home = mkdtempSync(join(tmpdir(), "kanban-bench-dispatch-"));
  let dispatcher: ChildProcess | null = null;
  try {
    const starts = join(home, "starts.txt");
    const agent = join(home, "agent.sh");
    writeFileSync(
      agent,
      `#!/bin/sh\necho "$KANBAN_TASK $(date +%s%N)" >> "${starts}"\nexec kanban complete --summary ok >/dev/null\n`,
    );
    chmodSync(agent, 0o755);
    writeFileSync(
      join(home, "config.toml"),
      `[dispatch]\nmax_workers = 4\n[profiles.fast]\ncommand = ["${agent}"]\nmax_concurrent = 4\n`,
    );
    const store = openStore(join(home, "boards", "default", "board.db"), { create: true });
    dispatcher = spawn(BIN, ["dispatch"], {
      env: { PATH: "/usr/bin:/bin", HOME: home, KANBAN_HOME: home },
      stdio: ["ignore", "ignore", "ignore"],
    });
    await sleep(500); // let it take the board's lease
    const latencies: number[] = [];
    for (let i = 0; i < TASKS; i++) {
      const task = (await store.createTask({ title: `t${i}`, assignee: "fast" }, { name: "bench" }))
        .task;
      const written = Date.now();
      const deadline = written + 5_000;
      let started: number | null = null;
      while (started === null) {
        if (Date.now() > deadline) throw new Error(`task ${task.id} did not start within 5 s`);
        await sleep(2);
        const line = existsSync(starts)
          ? readFileSync(starts, "utf8").split("\n").find((l) => l.startsWith(task.id))
          : undefined;
        if (line) started = Number(BigInt(line.split(" ")[1]!) / 1_000_000n);
      }
      latencies.push(started - written);
      await sleep(20 + (i % 5) * 10); // vary where in the poll cycle the next write lands
    }
    await sleep(1_000);
    const a = procStat(dispatcher.pid!);
    const idleMs = 5_000;
    await sleep(idleMs);
    const b = procStat(dispatcher.pid!);
    const cpuPct = ((b.cpuTicks - a.cpuTicks) * 10) / idleMs * 100; // 100 ticks per second
    const s = summarize(latencies);
    const p99 = [...latencies].sort((x, y) => x - y)[Math.ceil(0.99 * latencies.length) - 1]!;
    const ok = s.median < TARGET_MS;
    console.log(`kanban dispatch bench, ${new Date().toISOString().slice(0, 10)}, ${TASKS} tasks`);
    console.log(
      `  write -> worker start   median ${ms(s.median)}  p90 ${ms(s.p90)}  p99 ${ms(p99)}  max ${
        ms(s.max)
      }  target < ${TARGET_MS} ms  ${ok ? "OK" : "MISSED"}`,
    );
    console.log(
      `  idle dispatcher         RSS ${(b.rssKiB / 1024).toFixed(1)} MiB  CPU ${
        cpuPct.toFixed(2)
      }% over ${idleMs / 1000} s`,
    );
    store.close();
    return ok ? 0 : 1;
  } finally {
    if (dispatcher?.pid) {
      try {
        process.kill(dispatcher.pid, "SIGTERM");
      } catch { /* gone */ }
      await sleep(300);
    }
    rmSync(home, { recursive: true, force: true });
  }
}

process.exitCode = await main();
