/**
 * kill -9 of the real dispatcher at random instants of a spawn burst, restarted at once, over
 * several rounds: whatever instant the crash hits (before a claim, between a spawn and the
 * record of its pid, ...), the next dispatcher must know every worker the previous one
 * started, and no task may ever have live workers of two runs (read from /proc, not from the
 * board). `deno task chaos --kill-spawn` runs many more rounds.
 */
import assert from "node:assert/strict";
import { agentCommand, assertOneWorkerPerTask, faults, liveWorkers, until } from "./_faults.ts";

const ROUNDS = 4;
const TASKS = 30;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test(`kill -9 of the dispatcher mid-spawn, ${ROUNDS} rounds: never two live workers for one task`, async () => {
  for (let round = 0; round < ROUNDS; round++) {
    using f = faults(
      { slow: `${agentCommand("slow.sh")}\nmax_concurrent = ${TASKS}` },
      `max_workers = ${TASKS}\nlease = "3s"\nbackoff = "1s"`,
    );
    for (let i = 0; i < TASKS; i++) {
      await f.store.createTask({ title: `job ${i}`, assignee: "slow" }, { name: "t" });
    }
    const first = f.start();
    await until("the first start", () => /started/.test(first.output()), 15_000).catch((e) => {
      throw new Error(`${(e as Error).message}; the dispatcher said:\n${first.output()}`);
    });
    const delay = Math.floor(Math.random() * 250);
    await sleep(delay);
    first.signal("SIGKILL");
    await first.exited();
    const second = f.start();
    // The window where a lost worker would be run again: its run's lease expiring (3 s) and
    // the task claimed again. Watch it from /proc all along.
    const watchUntil = Date.now() + 5_000;
    while (Date.now() < watchUntil) {
      assertOneWorkerPerTask();
      await sleep(50);
    }
    f.release();
    await until(
      `round ${round} (kill after ${delay} ms): all done`,
      async () => (await f.store.stats()).by_status.done === TASKS,
      30_000,
    );
    const ids = new Set((await f.store.listTasks({})).map((t) => t.id));
    await until("every worker gone", () => [...liveWorkers().keys()].every((t) => !ids.has(t)));
    const twice = [];
    for (const t of await f.store.listTasks({})) {
      const runs = await f.store.listRuns(t.id);
      if (runs.filter((r) => r.outcome === "completed").length !== 1) twice.push(t.id);
    }
    assert.deepEqual(
      twice,
      [],
      `round ${round}: tasks completed other than once\n${second.output()}`,
    );
    second.signal("SIGTERM");
    assert.equal(await second.exited(), 0, second.output());
  }
});
