/**
 * The chaos harness's multi-host mode (scripts/chaos_hosts.ts) as a test: a 20-second run of
 * three hosts on a PostgreSQL cluster of its own, with every fault forced at least once, must
 * end with no task that had two live workers, no stale write applied and no task lost. Ignored,
 * saying why, where Debian's PostgreSQL server is not installed. On failure the message holds
 * the counts and the run's log.
 */
import assert from "node:assert/strict";
import { chaosHosts, hostsFailures, postgresServer } from "../../scripts/chaos_hosts.ts";

const server = postgresServer() !== null;

Deno.test({
  name: server
    ? "a short chaos run of three hosts on PostgreSQL: kills, a partition, a database restart and stale writes leave no task with two live workers, no stale write applied, no task lost"
    : "multi-host chaos: SKIPPED, no PostgreSQL server binaries (scripts/setup --postgres)",
  ignore: !server,
  // child processes, sockets and the board's pool outlive the test's own bookkeeping
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const lines: string[] = [];
    const counts = await chaosHosts(20, (line) => lines.push(line), { hosts: 3 });
    const why = `${JSON.stringify(counts)}\n${lines.join("\n")}`;
    assert.deepEqual(hostsFailures(counts), [], why);
    assert.equal(counts.tasks_with_two_live_workers, 0, why);
    assert.equal(counts.stale_writes_accepted, 0, why);
    assert.equal(counts.lost_tasks, 0, why);
    // each fault happened at least once (a short run forces the first of each)
    assert.ok(counts.partitions > 0, `partitions: ${why}`);
    assert.ok(counts.db_restarts > 0, `database restarts: ${why}`);
    assert.ok(counts.dispatcher_kills > 0, `dispatcher kills: ${why}`);
    assert.ok(counts.stale_writes > 0, `stale writes: ${why}`);
    // a loaded machine (the suite runs in parallel) makes fewer rounds in the same time
    assert.ok(counts.tasks >= 4, `tasks: ${why}`);
    assert.ok(counts.runs >= 4, `runs: ${why}`);
  },
});
