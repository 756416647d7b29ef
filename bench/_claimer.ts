/**
 * A racing claimer for bench/bench.ts, as tests/store/_claimer.ts races in race_test.ts: opens
 * the board, waits at the go-file barrier (tests/store/_spawn.ts), then claims until nothing
 * is left ("claim"), or claims and completes each task ("cycle"). It prints one JSON line at
 * the end, not one per claim, so that writing stdout stays out of the contended loop:
 * `{"ids": [...claimed task ids], "start": ms, "end": ms, "cpu": ms}` (wall clock, sub-ms
 * resolution; the process's CPU time between the two).
 * The board opens before the barrier (a PostgreSQL store connects on its first call), so the
 * race times claims, not connecting. With a host, each claim names it, as a dispatcher's do.
 * Usage: deno run -A bench/_claimer.ts <go-file> <board> <worker-name> claim|cycle [host]
 */
import { openStore } from "../lib/store/mod.ts";
import process from "node:process";
import { barrier } from "../tests/store/_spawn.ts";

const [goFile, board, name, mode, host] = Deno.args;
if (!goFile || !board || !name || (mode !== "claim" && mode !== "cycle")) {
  throw new Error("usage: _claimer.ts <go-file> <board> <name> claim|cycle [host]");
}
const wallMs = () => performance.timeOrigin + performance.now();

using store = openStore(board);
await store.info();
await barrier(goFile);
const start = wallMs();
const cpu0 = process.cpuUsage();
const ids: string[] = [];
for (;;) {
  const claim = await store.claim(host === undefined ? {} : { host }, { name });
  if (claim === null) break;
  ids.push(claim.task.id);
  if (mode === "cycle") {
    await store.complete(claim.task.id, { summary: "ok" }, { name, token: claim.token });
  }
}
const end = wallMs();
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ ids, start, end, cpu: (cpu.user + cpu.system) / 1000 }));
