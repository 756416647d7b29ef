/**
 * Processes that leave their worker's process group (setsid, double fork) under the real
 * dispatcher: nothing a worker starts may outlive its run, whether the worker completes and
 * exits or is stopped, and whatever the containment (a cgroup per run, or the group plus the
 * run's token). And the board file pulled from under a running dispatcher.
 */
import assert from "node:assert/strict";
import { chmodSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../lib/store/mod.ts";
import { pidAlive } from "../dispatch/_harness.ts";
import { agentCommand, faults, until } from "./_faults.ts";
import { MACHINE_OFF } from "../_setup.ts";

/** An agent that starts a setsid daemon and a double-forked one, then completes or hangs. */
function escaper(dir: string, then: "complete" | "hang"): string {
  const path = join(dir, `escaper-${then}.sh`);
  writeFileSync(
    path,
    `#!/bin/sh
setsid sleep 1000 &
echo "$!" >> "$KANBAN_WORKSPACE/escaped.pid"
( ( sleep 1000 & echo "$!" >> "$KANBAN_WORKSPACE/escaped.pid" ) & )
sleep 0.3
${then === "complete" ? 'kanban complete --summary "left daemons" >/dev/null' : "sleep 1000"}
`,
  );
  chmodSync(path, 0o755);
  return path;
}

for (const containment of ["auto", "group"] as const) {
  for (const then of ["complete", "hang"] as const) {
    Deno.test(
      `containment ${containment}: setsid and double-forked daemons of a worker that ${
        then === "complete" ? "completes" : "is stopped"
      } do not outlive its run`,
      async () => {
        using f = faults({}, "");
        const script = escaper(f.home, then);
        writeFileSync(
          join(f.home, "config.toml"),
          `[dispatch]\n${MACHINE_OFF}poll_interval = "1s"\ndispatcher_lease = "3s"\nstop_grace = "1s"\n` +
            `exit_grace = "1s"\ncontainment = "${containment}"\n` +
            `[profiles.esc]\ncommand = ["${script}"]\nmax_runtime = "3s"\n`,
        );
        const task = (await f.store.createTask({ title: "escape", assignee: "esc" }, { name: "t" }))
          .task;
        const d = f.start();
        await until("the run ends", async () => {
          const runs = await f.store.listRuns(task.id);
          return runs.length > 0 && !runs[0]!.open;
        }, 20_000);
        const run = (await f.store.listRuns(task.id))[0]!;
        const pids = readFileSync(join(run.workspace!, "escaped.pid"), "utf8").trim().split("\n")
          .map(Number);
        assert.equal(pids.length, 2, "both daemons started");
        await until("the daemons are gone", () => pids.every((p) => !pidAlive(p)), 10_000);
        assert.equal(run.outcome, then === "complete" ? "completed" : "timed_out");
        d.signal("SIGTERM");
        assert.equal(await d.exited(), 0, d.output());
      },
    );
  }
}

Deno.test("the real dispatcher exits non-zero, saying why, when its board file is replaced", async () => {
  using f = faults({ slow: agentCommand("slow.sh") });
  const task = (await f.store.createTask({ title: "slow", assignee: "slow" }, { name: "t" })).task;
  const d = f.start();
  await until("a worker", async () => (await f.store.listRuns(task.id))[0]?.pid != null);
  const pid = (await f.store.listRuns(task.id))[0]!.pid!;
  const other = `${f.boardPath}.new`;
  openStore(other, { create: true }).close();
  renameSync(other, f.boardPath);
  const code = await d.exited();
  assert.equal(code, 1, d.output());
  assert.match(d.output(), /board file .* was replaced/);
  assert.equal(pidAlive(pid), false, "its worker was stopped");
});
