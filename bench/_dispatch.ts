/**
 * The dispatcher measurement, shared by bench/bench.ts (the full run) and bench/dispatch.ts
 * (`deno task bench:dispatch`, this part alone).
 *
 * A real `dist/kanban dispatch` process runs on a temporary board whose one profile starts a
 * tiny agent that appends "<task> <epoch ns>" to a file, then completes. Tasks are created
 * one at a time through the Store API (from this process, as another program would); the
 * latency is from the create's commit to the agent's first line, so it includes the wake-up,
 * the claim, the workspace, the spawn and the shell's start. Then the dispatcher idles and its
 * RSS and CPU time are read from /proc.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { openStore, type Store } from "../lib/store/mod.ts";
import { summarize, type Summary } from "./_stats.ts";

/** The dispatcher should start a worker this soon after a task becomes ready (median). */
export const DISPATCH_TARGET_MS = 250;

export interface DispatchResult {
  tasks: number;
  /** Write (the create's commit) to the agent's first line, in ms. */
  latency: Summary;
  /** The idle dispatcher's resident memory at the end of the idle window. */
  rssKiB: number;
  /** CPU time over the idle window, in percent of one core. */
  cpuPct: number;
  idleMs: number;
}

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

/** Wall-clock time in ms with sub-millisecond resolution. */
const wallMs = () => performance.timeOrigin + performance.now();

function procStat(pid: number): { rssKiB: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { rssKiB: rss, cpuTicks: Number(f[11]) + Number(f[12]) };
}

/**
 * writeAgent writes `home`/agent.sh, the tiny worker: it appends "<task> <epoch ns> <host>" to
 * `starts` ($BENCH_HOST, when its profile sets one), then completes its task. Returns its path.
 */
export function writeAgent(home: string, starts: string): string {
  const agent = join(home, "agent.sh");
  writeFileSync(
    agent,
    `#!/bin/sh\necho "$KANBAN_TASK $(date +%s%N) $BENCH_HOST" >> "${starts}"\n` +
      "exec kanban complete --summary ok >/dev/null\n",
  );
  chmodSync(agent, 0o755);
  return agent;
}

/** One task's write-to-spawn: its latency and the host whose worker ran it ("" when unnamed). */
export interface Spawned {
  ms: number;
  host: string;
}

/**
 * timeSpawns creates `tasks` tasks for the profile `fast` one at a time through `store` (as
 * another program would) and waits for each one's agent line in `starts`: the latency is from
 * the create's commit to the agent's first line. `exited` rejects when a dispatcher dies.
 */
export async function timeSpawns(
  store: Store,
  starts: string,
  tasks: number,
  exited: Promise<never>,
): Promise<Spawned[]> {
  const spawned: Spawned[] = [];
  for (let i = 0; i < tasks; i++) {
    const task = (await store.createTask({ title: `t${i}`, assignee: "fast" }, { name: "bench" }))
      .task;
    const written = wallMs();
    const deadline = written + 5_000;
    let line: string | undefined;
    while (line === undefined) {
      if (wallMs() > deadline) throw new Error(`task ${task.id} did not start within 5 s`);
      await Promise.race([sleep(2), exited]);
      line = existsSync(starts)
        ? readFileSync(starts, "utf8").split("\n").find((l) => l.startsWith(task.id))
        : undefined;
    }
    const [, ns, host] = line.split(" ");
    spawned.push({ ms: Number(BigInt(ns!) / 1_000n) / 1_000 - written, host: host ?? "" });
    await sleep(20 + (i % 5) * 10); // vary where in the poll cycle the next write lands
  }
  return spawned;
}

/**
 * dispatchBench runs `bin dispatch` with KANBAN_HOME=`home` (an empty folder the caller
 * removes), measures `tasks` write-to-spawn latencies, then idles for `idleMs`.
 */
export async function dispatchBench(
  bin: string,
  home: string,
  tasks: number,
  idleMs: number,
): Promise<DispatchResult> {
  mkdirSync(home, { recursive: true });
  const starts = join(home, "starts.txt");
  const agent = writeAgent(home, starts);
  // what is timed is the start itself: the machine's load (the bench's own) holds nothing
  writeFileSync(
    join(home, "config.toml"),
    `[dispatch]\nmax_workers = 4\nmax_load = 0\nmin_free_memory = 0\n[profiles.fast]\ncommand = ["${agent}"]\nmax_concurrent = 4\n`,
  );
  const store = openStore(join(home, "boards", "default", "board.db"), { create: true });
  let dispatcher: ChildProcess | null = null;
  try {
    dispatcher = spawn(bin, ["dispatch"], {
      env: { PATH: "/usr/bin:/bin", HOME: home, KANBAN_HOME: home },
      stdio: ["ignore", "ignore", "ignore"],
    });
    const exited = new Promise<never>((_, fail) => {
      dispatcher!.on("exit", (code, signal) => {
        fail(new Error(`kanban dispatch exited early (${code ?? signal})`));
      });
    });
    exited.catch(() => {}); // only raced below; a late exit after the finally is expected
    await sleep(500); // let it take the board's lease
    const latencies = (await timeSpawns(store, starts, tasks, exited)).map((s) => s.ms);
    await sleep(1_000); // the last workers finish
    const a = procStat(dispatcher.pid!);
    await Promise.race([sleep(idleMs), exited]);
    const b = procStat(dispatcher.pid!);
    const cpuPct = ((b.cpuTicks - a.cpuTicks) * 10) / idleMs * 100; // 100 ticks per second
    return { tasks, latency: summarize(latencies), rssKiB: b.rssKiB, cpuPct, idleMs };
  } finally {
    store.close();
    if (dispatcher?.pid && dispatcher.exitCode === null) {
      try {
        process.kill(dispatcher.pid, "SIGTERM");
      } catch { /* gone */ }
      await sleep(300);
    }
  }
}
