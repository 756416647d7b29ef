/**
 * Steps of the wall clock under the real dispatcher, made with libfaketime (Debian's
 * `faketime`): the wall clock of the dispatcher and its workers jumps hours ahead and back,
 * the monotonic clock does not (FAKETIME_DONT_FAKE_MONOTONIC), as with an NTP correction or
 * a VM resumed after hours. No healthy worker may be stopped and no failure counted.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentCommand, faults, HAVE_FAKETIME, LIBFAKETIME, until } from "./_faults.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: HAVE_FAKETIME
    ? "wall-clock steps of +3 h and then -3 h under libfaketime stop no healthy worker"
    : "wall-clock steps under libfaketime: SKIPPED, libfaketime is not installed (scripts/setup --faults)",
  ignore: !HAVE_FAKETIME,
  fn: async () => {
    using f = faults(
      { slow: `${agentCommand("slow.sh")}\nmax_concurrent = 3` },
      'lease = "20s"\nstall_timeout = "10m"\nmax_runtime = "1h"',
    );
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(
        (await f.store.createTask({ title: `job ${i}`, assignee: "slow" }, { name: "t" }))
          .task.id,
      );
    }
    const stamp = join(f.home, "faketime");
    writeFileSync(stamp, "+0");
    const d = f.start([], {
      LD_PRELOAD: LIBFAKETIME,
      FAKETIME_TIMESTAMP_FILE: stamp,
      FAKETIME_NO_CACHE: "1",
      FAKETIME_DONT_FAKE_MONOTONIC: "1",
    });
    await until(
      "3 workers",
      async () => (await f.store.openRuns()).filter((r) => r.pid !== null).length === 3,
    );
    writeFileSync(stamp, "+3h");
    await until("the step seen", () => /wall clock stepped by 10800s/.test(d.output()), 10_000);
    await sleep(2_500); // a few passes at the new time
    writeFileSync(stamp, "-3h"); // a step of six hours back
    await until("the step back", () => /wall clock stepped by -21600s/.test(d.output()), 10_000);
    await sleep(2_500);
    assert.equal((await f.store.openRuns()).length, 3, `every worker still runs:\n${d.output()}`);
    f.release();
    await until("all done", async () => (await f.store.stats()).by_status.done === 3, 20_000);
    for (const id of ids) {
      const runs = await f.store.listRuns(id);
      assert.deepEqual(runs.map((r) => r.outcome), ["completed"], `task ${id}: ${d.output()}`);
    }
    d.signal("SIGTERM");
    assert.equal(await d.exited(), 0);
  },
});
