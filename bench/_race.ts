/**
 * Processes racing for the claims of one board, for bench/bench.ts (SQLite) and bench/_pg.ts
 * (PostgreSQL): each runs bench/_claimer.ts, all are released together through a go file
 * (tests/store/_spawn.ts), and the tally counts the tasks claimed more than once.
 */
import { race } from "../tests/store/_spawn.ts";
import type { Rate } from "./_stats.ts";

export interface RaceResult extends Rate {
  /** Tasks claimed by more than one process, or more than once (must be 0). */
  duplicates: number;
  /** Fewest and most claims one process made. */
  spread: [number, number];
  /** CPU time of all the processes together, from their release to their last claim (ms). */
  cpuMs: number;
}

/**
 * raceClaims runs `racers` Deno processes (bench/_claimer.ts) that drain `board`'s `tasks`
 * ready tasks at once, claiming only or claiming and completing each ("cycle"); with `hosts`
 * each process claims as host `${hosts}-${i}`. The rate is claims over the time from the first
 * process's release to the last one's final claim. Throws unless every task was claimed.
 */
export async function raceClaims(
  board: string,
  tasks: number,
  racers: number,
  mode: "claim" | "cycle",
  goFile: string,
  hosts?: string,
): Promise<RaceResult> {
  const results = await race(
    new URL("./_claimer.ts", import.meta.url).href,
    Array.from(
      { length: racers },
      (_, i) => [board, `racer-${i}`, mode, ...(hosts === undefined ? [] : [`${hosts}-${i}`])],
    ),
    goFile,
  );
  const by = new Map<string, number>();
  const counts: number[] = [];
  let start = Infinity;
  let end = -Infinity;
  let cpuMs = 0;
  for (const [i, r] of results.entries()) {
    const line = r.lines[0];
    if (r.code !== 0 || !line) throw new Error(`claimer ${i} failed (${r.code}):\n${r.stderr}`);
    const ids = line["ids"] as string[];
    for (const id of ids) by.set(id, (by.get(id) ?? 0) + 1);
    counts.push(ids.length);
    start = Math.min(start, Number(line["start"]));
    end = Math.max(end, Number(line["end"]));
    cpuMs += Number(line["cpu"]);
  }
  const n = counts.reduce((a, b) => a + b, 0);
  if (by.size !== tasks) throw new Error(`${mode} race claimed ${by.size} of ${tasks} tasks`);
  return {
    perSecond: n / ((end - start) / 1000),
    n,
    duplicates: [...by.values()].filter((c) => c > 1).length,
    spread: [Math.min(...counts), Math.max(...counts)],
    cpuMs,
  };
}
