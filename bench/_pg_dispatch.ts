/**
 * Write-to-spawn across hosts on a PostgreSQL board, for bench/_pg.ts: several real
 * `kanban dispatch` processes, each with its own KANBAN_HOME and `[dispatch] host`, as on
 * separate machines, dispatch one board. The bench process creates tasks one at a time through
 * the Store API (another client of the server) and times each from the create's commit to its
 * agent's first line (bench/_dispatch.ts's timeSpawns): the notification, a dispatcher's
 * wake-up, the claim (the hosts race for it; PostgreSQL's serialisable transactions make the
 * losers start again and find nothing), the workspace, the spawn and a shell's start. The
 * workers reach the board through their dispatcher's socket and complete there.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { openStore, type Store } from "../lib/store/mod.ts";
import type { PostgresDriver } from "../lib/store/postgres/driver.ts";
import { timeSpawns, writeAgent } from "./_dispatch.ts";
import { summarize, type Summary } from "./_stats.ts";

export interface HostsResult {
  tasks: number;
  /** Write (the create's commit) to the agent's first line, in ms. */
  latency: Summary;
  /** How many of the tasks each host's worker started. */
  byHost: Record<string, number>;
}

export interface HostsOptions {
  bin: string;
  /** An empty folder for the hosts' homes (the caller removes it). */
  dir: string;
  /** An empty database: the board is made in it. */
  url: string;
  hosts: number;
  tasks: number;
}

const sleep = (n: number) => new Promise((r) => setTimeout(r, n));

interface Host {
  name: string;
  child: ChildProcess;
  stderr: () => string;
}

function startHost(o: HostsOptions, agent: string, name: string): Host {
  const home = join(o.dir, name);
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, "config.toml"),
    `[dispatch]\nhost = "${name}"\nmax_workers = 4\nmax_load = 0\nmin_free_memory = 0\n` +
      `[profiles.fast]\ncommand = ["${agent}"]\nmax_concurrent = 4\n` +
      `env = { BENCH_HOST = "${name}" }\n`,
  );
  const child = spawn(o.bin, ["dispatch"], {
    env: { PATH: "/usr/bin:/bin", HOME: home, KANBAN_HOME: home, KANBAN_DB: o.url },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  child.stderr!.on("data", (d) => (err = (err + d).slice(-4_000)));
  return { name, child, stderr: () => err };
}

/** until polls `done` every 50 ms, for `ms` at most. */
async function until(what: string, done: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function stopHost(h: Host): Promise<void> {
  if (h.child.exitCode !== null || h.child.signalCode !== null) return;
  const exited = new Promise((r) => h.child.once("exit", r));
  try {
    process.kill(h.child.pid!, "SIGTERM");
  } catch { /* gone */ }
  if (await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)])) return;
  try {
    process.kill(h.child.pid!, "SIGKILL");
  } catch { /* gone */ }
}

/** hostsBench runs `o.hosts` dispatchers on the board in `o.url` and times `o.tasks` spawns. */
export async function hostsBench(o: HostsOptions): Promise<HostsResult> {
  mkdirSync(o.dir, { recursive: true });
  const starts = join(o.dir, "starts.txt");
  const agent = writeAgent(o.dir, starts);
  const store: Store = openStore(o.url, { create: true });
  const hosts: Host[] = [];
  try {
    await store.info(); // makes the board's tables before any dispatcher opens it
    for (let i = 0; i < o.hosts; i++) hosts.push(startHost(o, agent, `host-${i + 1}`));
    const exited = new Promise<never>((_, fail) => {
      for (const h of hosts) {
        h.child.on("exit", (code, signal) => {
          const said = h.stderr().trim().split("\n").slice(-3).join(" | ");
          fail(
            new Error(
              `kanban dispatch (${h.name}) exited early (${code ?? signal})` +
                (said === "" ? "" : `: ${said}`),
            ),
          );
        });
      }
    });
    exited.catch(() => {}); // only raced below; the exits after the finally are expected
    const names = hosts.map((h) => h.name);
    await Promise.race([
      exited,
      until("every host's dispatcher on the board", async () => {
        const live = (await store.dispatchers()).filter((d) =>
          d.lease_expires !== null && Date.parse(d.lease_expires) > Date.now()
        ).map((d) => d.host);
        return names.every((n) => live.includes(n));
      }, 30_000),
    ]);
    await sleep(500); // their change feeds start listening
    const spawned = await timeSpawns(store, starts, o.tasks, exited);
    await Promise.race([
      exited,
      until(
        "every task done",
        async () => ((await store.stats()).by_status["done"] ?? 0) === o.tasks,
        30_000,
      ),
    ]);
    const runs = await store.listRuns(undefined, o.tasks + 1);
    if (runs.length !== o.tasks || new Set(runs.map((r) => r.task_id)).size !== o.tasks) {
      throw new Error(`${runs.length} runs for ${o.tasks} tasks: a task ran twice`);
    }
    const byHost: Record<string, number> = {};
    for (const n of names) byHost[n] = 0;
    for (const s of spawned) byHost[s.host] = (byHost[s.host] ?? 0) + 1;
    return { tasks: o.tasks, latency: summarize(spawned.map((s) => s.ms)), byHost };
  } finally {
    await Promise.all(hosts.map(stopHost));
    await (store.driver as PostgresDriver).end(); // every connection gone before the DROP
  }
}
