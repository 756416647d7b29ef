/**
 * Several hosts on one board, as real dispatcher processes (the compiled binary) with their own
 * host identities and configs: all run at once, each within its own max_workers, a profile's
 * max_concurrent holds across all of them, and when a host dies (its dispatcher and workers
 * killed) its runs are ended by another host once their leases expire, and retried there,
 * counted once; a cancel made anywhere stops the worker on the host that runs it. Each runs on a
 * board file and on a PostgreSQL board (where the workers reach the board through their host's
 * dispatcher socket).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import process from "node:process";
import { join } from "node:path";
import { openStore, type Store } from "../../lib/store/mod.ts";
import { BINARY } from "../e2e/_binary.ts";
import { MACHINE_OFF, tempDir } from "../_setup.ts";
import { dropDatabase, emptyDatabase, endStore, PG_URL } from "../store/postgres/_pg.ts";
import { AGENTS, assertOneWorkerPerTask, pidAlive } from "./_harness.ts";

interface Fleet extends AsyncDisposable {
  store: Store;
  release(): void;
  /** Starts `kanban dispatch` as host `host`, whose config.toml ends with `extra`. */
  host(host: string, extra?: string): ChildProcess & { output: () => string };
}

type BoardKind = "sqlite" | "postgres";

/** fleet: a board (a file, or a fresh PostgreSQL database) and the hosts dispatching it. */
async function fleet(kind: BoardKind): Promise<Fleet> {
  const tmp = tempDir("kanban-hosts-");
  const release = join(tmp.dir, "release");
  const db = kind === "postgres" ? await emptyDatabase() : null;
  const location = db?.url ?? join(tmp.dir, "boards", "default", "board.db");
  const store = openStore(location, { create: true });
  await store.info();
  const children: ChildProcess[] = [];
  const closed: Promise<unknown>[] = [];
  return {
    store,
    release: () => writeFileSync(release, ""),
    host: (host, extra = "") => {
      const config = join(tmp.dir, `${host}.toml`);
      writeFileSync(
        config,
        `[dispatch]\n${MACHINE_OFF}host = "${host}"\npoll_interval = "1s"\ndispatcher_lease = "2s"\n` +
          `lease = "3s"\nbackoff = "1s"\nstop_grace = "1s"\n${extra}\n` +
          `[profiles.slow]\ncommand = ["${join(AGENTS, "slow.sh")}"]\nmax_concurrent = 2\n`,
      );
      const child = spawn(BINARY, ["dispatch"], {
        env: {
          HOME: tmp.dir,
          KANBAN_HOME: tmp.dir,
          KANBAN_CONFIG: config,
          PATH: "/usr/bin:/bin",
          RELEASE_FILE: release,
          ...(db !== null ? { KANBAN_DB: db.url } : {}),
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (out += d));
      children.push(child);
      closed.push(new Promise((r) => child.once("close", r)));
      return Object.assign(child, { output: () => out });
    },
    [Symbol.asyncDispose]: async () => {
      for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
      await Promise.all(closed);
      writeFileSync(release, "");
      await endStore(store);
      if (db !== null) await dropDatabase(db.name);
      tmp[Symbol.dispose]();
    },
  };
}

/** hostsTest registers `fn` once per board driver (PostgreSQL when the suite has a server). */
function hostsTest(name: string, fn: (f: Fleet) => Promise<void>): void {
  for (const kind of ["sqlite", "postgres"] as const) {
    const skip = kind === "postgres" && PG_URL === undefined;
    Deno.test({
      name: `${kind}: ${name}${
        skip ? " (skipped: KANBAN_TEST_PG_URL unset; scripts/test starts a server)" : ""
      }`,
      ignore: skip,
      sanitizeOps: kind === "sqlite",
      sanitizeResources: kind === "sqlite",
      fn: async () => {
        await using f = await fleet(kind);
        await fn(f);
      },
    });
  }
}

async function until(what: string, done: () => Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    assertOneWorkerPerTask();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function addSlow(store: Store, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      (await store.createTask({ title: `job ${i}`, assignee: "slow" }, { name: "t" })).task.id,
    );
  }
  return ids;
}

hostsTest(
  "three hosts dispatch one board at once; a profile's max_concurrent holds across all of them",
  async (f) => {
    const ids = await addSlow(f.store, 5);
    const mac = f.host("mac", "max_workers = 1");
    const gpu = f.host("gpu", "max_workers = 1");
    // Each of the two small hosts runs one worker: the fleet is at the profile's cap of 2.
    await until("a worker on each host", async () => {
      const hosts = (await f.store.openRuns()).filter((r) => r.pid !== null).map((r) => r.host);
      return hosts.includes("mac") && hosts.includes("gpu");
    });
    const big = f.host("big", "max_workers = 4");
    await until(
      "the third host running",
      async () =>
        (await f.store.dispatchers()).some((d) => d.host === "big" && d.active) ||
        (await f.store.dispatchers()).filter((d) => d.lease_expires !== null && d.host === "big")
            .length === 1,
    );
    // Several passes of the big host: it has room for four but the fleet has none.
    for (let i = 0; i < 20; i++) {
      const open = await f.store.openRuns();
      assert.ok(open.length <= 2, `${open.length} runs open at once: ${JSON.stringify(open)}`);
      assert.ok(!open.some((r) => r.host === "big"), "the big host claimed past the fleet's cap");
      await new Promise((r) => setTimeout(r, 100));
    }
    const running = (await f.store.dispatchers()).filter((d) =>
      d.lease_expires !== null && Date.parse(d.lease_expires) > Date.now()
    );
    assert.deepEqual(running.map((d) => d.host).sort(), ["big", "gpu", "mac"], "all three run");
    assert.equal(running.filter((d) => d.active).length, 1, "one of them leads");
    f.release();
    await until("all done", async () => (await f.store.stats()).by_status.done === 5, 30_000);
    for (const id of ids) {
      const runs = await f.store.listRuns(id);
      assert.deepEqual(runs.map((r) => r.outcome), ["completed"], `task ${id} ran once`);
    }
    for (const c of [mac, gpu, big]) c.kill("SIGTERM");
  },
);

/** macRunsGpuWaits: one slow task, running on host mac; host gpu up beside it, idle. */
async function macRunsGpuWaits(f: Fleet) {
  const [id] = await addSlow(f.store, 1);
  const mac = f.host("mac");
  await until("the worker on mac", async () => (await f.store.openRuns())[0]?.pid != null);
  const gpu = f.host("gpu");
  await until(
    "gpu running",
    async () =>
      (await f.store.dispatchers()).some((d) => d.host === "gpu" && d.lease_expires !== null),
  );
  return { id, mac, gpu };
}

hostsTest(
  "a host that dies has its runs ended by another host once their leases expire, retried there, counted once",
  async (f) => {
    const { id, mac, gpu } = await macRunsGpuWaits(f);
    // The mac dies: its dispatcher and its worker, at once.
    const [run] = await f.store.openRuns();
    process.kill(run!.pid!, "SIGKILL");
    mac.kill("SIGKILL");
    await until("mac's worker gone", () => Promise.resolve(!pidAlive(run!.pid!)));
    // gpu judges mac's run by its lease only (3 s), then retries the task itself.
    await until(
      "the retry on gpu",
      async () => (await f.store.openRuns()).some((r) => r.host === "gpu" && r.pid !== null),
      20_000,
    );
    const runs = await f.store.listRuns(id!);
    const lost = runs.find((r) => r.id === run!.id)!;
    assert.equal(lost.outcome, "lost");
    assert.match(lost.error ?? "", /lease expired/);
    assert.equal(
      Date.parse(lost.ended_at!) >= Date.parse(run!.lease_expires!),
      true,
      "ended only once its lease had expired",
    );
    f.release();
    await until("done", async () => (await f.store.getTask(id!)).status === "done");
    const after = await f.store.listRuns(id!);
    assert.deepEqual(after.map((r) => r.outcome).sort(), ["completed", "lost"], "counted once");
    assert.equal((await f.store.getTask(id!)).consecutive_failures, 0);
    gpu.kill("SIGTERM");
  },
);

hostsTest(
  "a host whose dispatcher dies alone stops its worker before the lease can expire (its lease guard); another host runs the task",
  async (f) => {
    const { id, mac, gpu } = await macRunsGpuWaits(f);
    // Only mac's dispatcher dies: its host and its worker go on, and nobody renews the lease.
    const [started] = await f.store.openRuns();
    mac.kill("SIGKILL");
    await new Promise((r) => mac.once("exit", r));
    assert.ok(pidAlive(started!.pid!), "the worker outlives its dispatcher");
    const expires = Date.parse((await f.store.getRun(started!.id)).lease_expires!);
    await until("the guard stops mac's worker", () => Promise.resolve(!pidAlive(started!.pid!)));
    const stoppedAt = Date.now();
    assert.ok(stoppedAt < expires, `stopped ${stoppedAt - expires} ms after the lease expired`);
    // gpu ends the run once its lease expired, and runs the task: one live worker throughout
    // (until() checks it at every step).
    await until(
      "the retry on gpu",
      async () => (await f.store.openRuns()).some((r) => r.host === "gpu" && r.pid !== null),
    );
    f.release();
    await until("done", async () => (await f.store.getTask(id!)).status === "done");
    const runs = await f.store.listRuns(id!);
    assert.deepEqual(runs.map((r) => r.outcome).sort(), ["completed", "lost"], "counted once");
    gpu.kill("SIGTERM");
  },
);

hostsTest(
  "a person cancels a task from anywhere and the host running it stops its worker at once",
  async (f) => {
    const [id] = await addSlow(f.store, 1);
    const mac = f.host("mac");
    f.host("gpu", "max_workers = 0");
    await until("the worker on mac", async () => (await f.store.openRuns())[0]?.pid != null);
    const [run] = await f.store.openRuns();
    assert.equal(run!.host, "mac");
    // The worker never finishes by itself (no release): only the cancel can end it.
    const cancelled = Date.now();
    await f.store.cancel(id!, "not needed after all", { name: "alice" });
    await until("the worker stopped", () => Promise.resolve(!pidAlive(run!.pid!)), 10_000);
    const took = Date.now() - cancelled;
    const [ended] = await f.store.listRuns(id!);
    assert.equal(ended!.outcome, "cancelled");
    // well inside the 3 s lease: the change feed wakes mac's dispatcher, no lease runs out
    assert.ok(took < 3_000, `the worker ran on for ${took} ms after the cancel\n${mac.output()}`);
    assert.equal((await f.store.openRuns()).length, 0);
  },
);
