/**
 * Containment with real processes: workers that leave setsid and double-forked daemons behind
 * are stopped whole (cgroup v2 on this machine, and the process group forced), a worker is found
 * by its run, no signal ever goes to pid 0, 1 or a negative group, and no test cgroup is left.
 * Only child processes are ever moved into test cgroups, never this test runner.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  type Containment,
  containment,
  memoryControl,
  release,
  retire,
  runCgroup,
  runCgroups,
  runProcesses,
  stopRun,
} from "../../lib/dispatch/contain.ts";
import { liveness, readStat, signalGroup, signalPid } from "../../lib/dispatch/proc.ts";
import { SpawnError, spawnWorker } from "../../lib/dispatch/spawn.ts";
import { tempDir } from "../_setup.ts";

const PROC = new URL("../../lib/dispatch/proc.ts", import.meta.url).href;
const CONTAIN = new URL("../../lib/dispatch/contain.ts", import.meta.url).href;
const LIB = new URL("../../lib/", import.meta.url);

/** A scope of its own per test: tests run in parallel, and so may dispatchers on this host. */
const scope = () => `test-${process.pid}-${randomBytes(4).toString("hex")}`;
const token = () => randomBytes(24).toString("base64url");

/** withContainment runs `body` on a fresh containment, then checks that it left no cgroup. */
async function withContainment(
  mode: "auto" | "group",
  body: (c: Containment) => Promise<void>,
): Promise<void> {
  const c = containment(scope(), mode);
  try {
    await body(c);
    assert.deepEqual(runCgroups(c), [], "no run cgroup is left behind");
    assert.equal(retire(c), true, "the scope's folder is removed");
  } finally {
    for (const id of runCgroups(c)) release(c, id); // only after a failure: they are this test's
    retire(c);
  }
}

const HERE = containment(scope());
retire(HERE);
const NO_CGROUPS = HERE.kind !== "cgroup";

async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const lines = (path: string): number[] => {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

/**
 * A worker that leaves daemons behind: a setsid child, a double-forked setsid daemon that
 * ignores SIGTERM, and (with $CLEAN_ENV) a setsid daemon with an empty environment, which no
 * token scan can recognise. Each writes its pid to $PIDS (the last one to $PIDS.clean); the
 * worker then sleeps. It forks at
 * once: a worker moved into its cgroup only after its spawn had left half of these outside.
 */
const WORKER = `#!/bin/sh
setsid sleep 300 &
echo $! >> "$PIDS"
( setsid sh -c 'trap "" TERM; echo $$ >> "$PIDS"; exec sleep 301' & ) &
if [ -n "$CLEAN_ENV" ]; then
  ( setsid env -i sh -c 'echo $$ >> "$0"; exec sleep 302' "$PIDS.clean" & ) &
fi
exec sleep 303
`;

interface Started {
  pid: number;
  token: string;
  /** Every daemon's pid (the env-cleared one last). */
  daemons: number[];
  /** The env-cleared daemon's pid, or null. */
  clean: number | null;
  cgroup: string | null;
}

async function startWorker(
  c: Containment,
  runId: number,
  dir: string,
  extra: Record<string, string> = {},
): Promise<Started> {
  const script = join(dir, "worker.sh");
  writeFileSync(script, WORKER, { mode: 0o755 });
  const t = token();
  const pids = join(dir, `pids-${runId}`);
  const spawned = await spawnWorker([script], {
    cwd: dir,
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", KANBAN_TOKEN: t, PIDS: pids, ...extra },
    logPath: join(dir, `run-${runId}.log`),
    contain: { containment: c, runId },
  });
  const clean = extra["CLEAN_ENV"] ? 1 : 0;
  await until(
    "the daemons",
    () => lines(pids).length >= 2 && lines(`${pids}.clean`).length >= clean,
  );
  const daemons = [...lines(pids), ...lines(`${pids}.clean`)];
  return {
    pid: spawned.pid,
    token: t,
    daemons,
    clean: clean ? daemons[2]! : null,
    cgroup: spawned.cgroup,
  };
}

const gone = (pid: number) => ["gone", "zombie"].includes(liveness(pid, null));

Deno.test({
  name:
    "with cgroups, stopRun stops a worker and its setsid, double-forked and env-cleared daemons",
  ignore: NO_CGROUPS,
  fn: () =>
    withContainment("auto", async (c) => {
      assert.equal(c.kind, "cgroup");
      using tmp = tempDir("kanban-contain-");
      const w = await startWorker(c, 7, tmp.dir, { CLEAN_ENV: "1" });
      assert.equal(w.cgroup, runCgroup(c, 7));
      const daemons = w.daemons;
      for (const pid of daemons) {
        assert.notEqual(readStat(pid)?.pgrp, w.pid, `daemon ${pid} left the worker's group`);
      }
      const found = runProcesses(c, 7, w.token).map((p) => p.pid);
      for (const pid of [w.pid, ...daemons]) assert.ok(found.includes(pid), `finds ${pid}`);
      const members = runProcesses(c, 7, null).map((p) => p.pid);
      for (const pid of [w.pid, ...daemons]) {
        assert.ok(members.includes(pid), `${pid} was born in the run's cgroup`);
      }

      const result = await stopRun(c, { runId: 7, pgid: w.pid, token: w.token }, 300);
      assert.deepEqual(result.survivors, []);
      assert.equal(result.killed, true, "the daemon that ignores SIGTERM needed SIGKILL");
      for (const pid of [w.pid, ...daemons]) assert.ok(gone(pid), `pid ${pid} is gone`);
      assert.deepEqual(runProcesses(c, 7, w.token), [], "nothing with the token is left");
      assert.deepEqual(runCgroups(c), [], "the run's cgroup was removed");
    }),
});

Deno.test("with the process group forced, stopRun stops setsid and double-forked daemons by their token", () =>
  withContainment("group", async (c) => {
    assert.equal(c.kind, "group");
    using tmp = tempDir("kanban-contain-");
    const w = await startWorker(c, 8, tmp.dir);
    assert.equal(w.cgroup, null);
    const daemons = w.daemons;
    for (const pid of daemons) assert.notEqual(readStat(pid)?.pgrp, w.pid);

    const result = await stopRun(c, { runId: 8, pgid: w.pid, token: w.token }, 300);
    assert.deepEqual(result.survivors, []);
    assert.equal(result.killed, true);
    for (const pid of [w.pid, ...daemons]) assert.ok(gone(pid), `pid ${pid} is gone`);
    assert.deepEqual(runProcesses(c, 8, w.token), []);
  }));

Deno.test("with the process group, a daemon that leaves the group and clears its environment escapes (the documented limit)", () =>
  withContainment("group", async (c) => {
    using tmp = tempDir("kanban-contain-");
    const w = await startWorker(c, 9, tmp.dir, { CLEAN_ENV: "1" });
    const clean = w.clean!;
    const st = readStat(clean)!;
    try {
      const result = await stopRun(c, { runId: 9, pgid: w.pid, token: w.token }, 300);
      assert.deepEqual(result.survivors, [], "what could be found was stopped");
      assert.equal(liveness(clean, st.startTime), "alive", "the env-cleared daemon escaped");
    } finally {
      signalPid(clean, st.startTime, "SIGKILL");
    }
  }));

Deno.test("runProcesses finds a worker by its token that was started outside any cgroup, and nothing else", () =>
  withContainment("auto", async (c) => {
    const t = token();
    const spawnDetached = (value: string) =>
      spawn("sh", ["-c", "sleep 60 & exec sleep 61"], {
        detached: true,
        stdio: "ignore",
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", KANBAN_TOKEN: value },
      });
    const ours = spawnDetached(t);
    // Near misses: a longer token that starts with ours, and a prefix of ours.
    const others = [spawnDetached(`${t}x`), spawnDetached(t.slice(0, -1))];
    try {
      await until("the workers' children", () => runProcesses(c, 3, t).length === 2);
      const found = runProcesses(c, 3, t);
      assert.ok(found.some((p) => p.pid === ours.pid), "the worker itself");
      for (const p of found) assert.equal(p.startTime, readStat(p.pid)!.startTime);
      for (const o of others) assert.ok(!found.some((p) => p.pid === o.pid), "not a near miss");
      assert.deepEqual(runProcesses(c, 3, null), [], "without a token: only the cgroup");
      const result = await stopRun(c, { runId: 3, pgid: null, token: t }, 2_000);
      assert.deepEqual(result.survivors, []);
      assert.deepEqual(runProcesses(c, 3, t), []);
    } finally {
      for (const o of [ours, ...others]) signalGroup(o.pid!, "SIGKILL");
    }
  }));

Deno.test("spawnWorker fails closed: a worker that cannot be moved into its cgroup is stopped and the spawn rejected", async () => {
  using tmp = tempDir("kanban-contain-");
  // A "cgroup" whose cgroup.procs cannot be written (it is a folder): the move fails.
  const root = join(tmp.dir, "fake");
  mkdirSync(join(root, "run-5", "cgroup.procs"), { recursive: true });
  const c: Containment = { kind: "cgroup", root, why: "test" };
  const t = token();
  const script = join(tmp.dir, "worker.sh");
  writeFileSync(script, WORKER, { mode: 0o755 });
  const pids = join(tmp.dir, "pids");
  await assert.rejects(
    spawnWorker([script], {
      cwd: tmp.dir,
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", KANBAN_TOKEN: t, PIDS: pids },
      logPath: join(tmp.dir, "run.log"),
      contain: { containment: c, runId: 5 },
    }),
    (err: Error) => {
      assert.ok(err instanceof SpawnError);
      assert.match(err.message, /cannot move pid \d+ into .*run-5: .*; stopped it$/);
      return true;
    },
  );
  const group: Containment = { kind: "group", root: null, why: "test" };
  assert.deepEqual(runProcesses(group, 5, t), [], "nothing of the worker is left");
  for (const pid of lines(pids)) assert.ok(gone(pid), `daemon ${pid} is gone`);

  // A cgroup that cannot be made: nothing is started at all.
  const nowhere: Containment = { kind: "cgroup", root: "/proc/kanban-nowhere", why: "test" };
  await assert.rejects(
    spawnWorker([script], {
      cwd: tmp.dir,
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", KANBAN_TOKEN: t, PIDS: pids },
      logPath: join(tmp.dir, "run.log"),
      contain: { containment: nowhere, runId: 6 },
    }),
    /cannot start .*worker\.sh: cannot make the run's cgroup \/proc\/kanban-nowhere\/run-6/,
  );
  assert.deepEqual(runProcesses(group, 6, t), []);
});

/**
 * The refusals run in a child process of their own process group, with process.kill replaced
 * by a recorder that sends nothing. Should a refusal fail anyway and the recorder be bypassed,
 * the signals are chosen so that the damage stays in the child: SIGTERM only where the target
 * would be the child's own group (0, its pgid), SIGCONT (harmless) where it would be everyone.
 */
const REFUSALS = `
import process from "node:process";
import { signalGroup, signalPid, stopGroup, readStat } from "${PROC}";
import { stopRun } from "${CONTAIN}";
const calls = [];
process.kill = (pid, sig) => { calls.push([String(pid), sig]); throw new Error("recorded, not sent"); };
const own = readStat(process.pid).pgrp;
const group = { kind: "group", root: null, why: "test" };
const results = {
  "signalGroup(0)": signalGroup(0, "SIGTERM"),
  "signalGroup(-0)": signalGroup(-0, "SIGTERM"),
  "signalGroup(1)": signalGroup(1, "SIGCONT"),
  "signalGroup(-1)": signalGroup(-1, "SIGCONT"),
  "signalGroup(-5)": signalGroup(-5, "SIGCONT"),
  "signalGroup(NaN)": signalGroup(NaN, "SIGTERM"),
  "signalGroup(2.5)": signalGroup(2.5, "SIGCONT"),
  "signalGroup(Infinity)": signalGroup(Infinity, "SIGCONT"),
  "signalGroup(own group)": signalGroup(own, "SIGTERM"),
  "signalPid(0)": signalPid(0, 0, "SIGTERM"),
  "signalPid(1)": signalPid(1, readStat(1)?.startTime ?? 0, "SIGCONT"),
  "signalPid(self)": signalPid(process.pid, readStat(process.pid).startTime, "SIGTERM"),
  "stopGroup(0)": (await stopGroup(0, 50)).refused !== undefined ? false : "not refused",
  "stopGroup(own group)": (await stopGroup(own, 50)).refused !== undefined ? false : "not refused",
  "stopRun(pgid 0)": (await stopRun(group, { runId: 1, pgid: 0, token: null }, 50)).survivors.length > 0,
  "stopRun(pgid -1)": (await stopRun(group, { runId: 1, pgid: -1, token: null }, 50)).survivors.length > 0,
};
console.log(JSON.stringify({ results, calls }));
`;

Deno.test("no signal ever goes to pid 0, 1, a negative or fractional target, or the dispatcher's own group", async () => {
  using tmp = tempDir("kanban-contain-");
  const script = join(tmp.dir, "refusals.ts");
  writeFileSync(script, REFUSALS);
  const child = spawn(Deno.execPath(), ["run", "-A", "--no-lock", script], {
    detached: true, // its own group: kill(0) from it would reach only itself
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "", err = "";
  child.stdout!.on("data", (b) => out += b);
  child.stderr!.on("data", (b) => err += b);
  const timer = setTimeout(() => signalGroup(child.pid!, "SIGKILL"), 60_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
    child.once("close", (c, s) => r([c, s]))
  );
  clearTimeout(timer);
  assert.equal(signal, null, `the child was killed by ${signal}: a signal went out (${err})`);
  assert.equal(code, 0, err);
  const { results, calls } = JSON.parse(out);
  for (const [what, sent] of Object.entries(results)) assert.equal(sent, false, what);
  assert.deepEqual(calls, [], "process.kill was never called");
});

Deno.test("process.kill is called in lib/ only behind the refusals of proc.ts (and on notify's own child)", () => {
  const offenders: string[] = [];
  const walk = (dir: URL) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(new URL(`${e.name}/`, dir));
      else if (e.name.endsWith(".ts")) {
        const url = new URL(e.name, dir);
        const path = url.pathname.slice(LIB.pathname.length);
        readFileSync(url, "utf8").split("\n").forEach((line, i) => {
          if (!line.includes("process.kill(")) return;
          // proc.ts: signalGroup and signalPid, each behind isTarget. notify.ts: a command's
          // own group, -child.pid: a live child's pid (> 1), or NaN, which process.kill refuses.
          const allowed =
            (path === "dispatch/proc.ts" && /process\.kill\(-?(pid|pgid), signal\)/.test(line)) ||
            (path === "dispatch/notify.ts" && line.includes("process.kill(-child.pid!, "));
          if (!allowed) offenders.push(`lib/${path}:${i + 1}: ${line.trim()}`);
        });
      }
    }
  };
  walk(LIB);
  assert.deepEqual(offenders, []);
});

Deno.test('containment: "group" is honoured, a bad scope is refused, and cgroups sit under our own cgroup', () => {
  assert.deepEqual(containment("board-a", "group"), {
    kind: "group",
    root: null,
    why: 'process group (containment = "group")',
  });
  assert.throws(() => containment("../escape"), /bad containment scope "\.\.\/escape"/);
  assert.throws(() => runCgroup(HERE, 0), /bad run id 0/);
  if (NO_CGROUPS) {
    assert.throws(() => containment(scope(), "cgroup"), /cgroup containment was asked for, but/);
    return;
  }
  const c = containment(scope(), "cgroup");
  try {
    const own = /^0::(\/.*)$/m.exec(readFileSync("/proc/self/cgroup", "utf8"))![1]!;
    assert.ok(c.root!.includes(`${own === "/" ? "" : own}/kanban/test-`), c.root!);
    assert.deepEqual(
      readdirSync(c.root!).filter((n) => n.startsWith("probe-")),
      [],
      "probe removed",
    );
    assert.equal(
      readFileSync("/proc/self/cgroup", "utf8").match(/^0::.*$/m)![0],
      `0::${own}`,
      "we stayed put",
    );
  } finally {
    assert.equal(retire(c), true);
    assert.throws(() => readdirSync(c.root!), /ENOENT|No such file/, "retire removed the folder");
  }
});

Deno.test("runProcesses scans ~300 processes in well under a second (the figure is printed)", () =>
  withContainment("group", async (c) => {
    const t = token();
    const n = 250;
    const herd = spawn("sh", [
      "-c",
      // long sleeps: on a loaded machine the herd and the scans can take most of a minute
      `i=0; while [ $i -lt ${n} ]; do sleep 600 & i=$((i+1)); done; exec sleep 601`,
    ], {
      detached: true,
      stdio: "ignore",
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", KANBAN_TOKEN: t },
    });
    try {
      await until(`${n + 1} processes`, () => runProcesses(c, 4, t).length === n + 1, 30_000);
      const total = readdirSync("/proc").filter((x) => /^\d+$/.test(x)).length;
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t0 = performance.now();
        assert.equal(runProcesses(c, 4, t).length, n + 1);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const median = times[5]!;
      console.log(
        `runProcesses over ${total} processes: median ${median.toFixed(1)} ms, max ${
          times[9]!.toFixed(1)
        } ms`,
      );
      assert.ok(median < 1_000, `median ${median} ms`);
      const result = await stopRun(c, { runId: 4, pgid: herd.pid!, token: t }, 5_000);
      assert.deepEqual(result.survivors, []);
      assert.deepEqual(runProcesses(c, 4, t), []);
    } finally {
      signalGroup(herd.pid!, "SIGKILL");
    }
  }));

/** Whether this host lets run cgroups have a memory.max (null: yes; else why not). */
const MEMORY_WHY = (() => {
  const c = containment(scope());
  try {
    return memoryControl(c);
  } finally {
    retire(c);
  }
})();

Deno.test({
  name: `a worker's cgroup gets its memory_limit as memory.max${
    MEMORY_WHY === null ? "" : ` (skipped on this host: ${MEMORY_WHY})`
  }`,
  ignore: MEMORY_WHY !== null,
  fn: () =>
    withContainment("auto", async (c) => {
      assert.equal(memoryControl(c), null);
      using tmp = tempDir("kanban-contain-");
      const spawned = await spawnWorker(["sleep", "30"], {
        cwd: tmp.dir,
        env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", KANBAN_TOKEN: token() },
        logPath: join(tmp.dir, "run-9.log"),
        contain: { containment: c, runId: 9, memoryMax: 64 * 1024 ** 2 },
      });
      const max = readFileSync(join(runCgroup(c, 9)!, "memory.max"), "utf8").trim();
      assert.equal(max, String(64 * 1024 ** 2));
      const r = await stopRun(c, { runId: 9, pgid: spawned.pid, token: null }, 300);
      assert.deepEqual(r.survivors, []);
    }),
});

Deno.test("memoryControl says why a memory_limit cannot apply where workers run in a process group", () => {
  const c = containment(scope(), "group");
  assert.match(
    memoryControl(c)!,
    /workers run in a process group \(process group \(containment = "group"\)\)/,
  );
  if (MEMORY_WHY !== null) console.log(`memory.max is not available here: ${MEMORY_WHY}`);
});
