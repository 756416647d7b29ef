/**
 * `kanban routine` through the compiled binary: the verbs, their refusals (exit codes and
 * messages naming the field), run-now once per key, and due occurrences fired by several
 * `kanban dispatch --once` processes at once, each occurrence once.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BINARY, binaryHome } from "./_binary.ts";

interface RoutineOut {
  name: string;
  cron: string;
  tz: string;
  paused: boolean;
  next_at: string | null;
  catch_up: string;
  max_catch_up: number;
  fired: number;
}

Deno.test("dist/kanban routine add, list, show, pause, resume, run-now, remove and their refusals", () => {
  using b = binaryHome();
  b.json(["init"]);
  const added = b.json<RoutineOut>([
    "routine",
    "add",
    "standup",
    "--cron",
    "0 9 * * 1-5",
    "--tz",
    "Europe/Paris",
    "--title",
    "Standup notes",
    "--assignee",
    "writer",
    "--catch-up",
    "once",
  ]);
  assert.equal(added.tz, "Europe/Paris");
  assert.equal(added.catch_up, "once");
  assert.ok(added.next_at !== null && Date.parse(added.next_at) > Date.now());
  // a weekday at 09:00 in Paris is 07:00 or 08:00 UTC
  assert.match(added.next_at, /T0[78]:00:00\.000Z$/);
  const text = b.kanban(["routine", "list"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^NAME +CRON +TZ +NEXT +CATCH-UP +MAKES\n/);
  assert.match(
    text.stdout,
    /standup +0 9 \* \* 1-5 +Europe\/Paris +20\d\d-\d\d-\d\d 09:00 Europe\/Paris \(in /,
  );
  assert.equal(b.json<RoutineOut[]>(["routine", "list"]).length, 1);
  assert.equal(b.json<RoutineOut>(["routine", "pause", "standup"]).paused, true);
  assert.match(b.kanban(["routine", "list"]).stdout, /standup .* paused /);

  const first = b.json<{ created: boolean; tasks: { id: string }[] }>(
    ["routine", "run-now", "standup", "--key", "manual-1"],
  );
  assert.equal(first.created, true);
  const again = b.json<{ created: boolean; tasks: { id: string }[] }>(
    ["routine", "run-now", "standup", "--key", "manual-1"],
  );
  assert.equal(again.created, false);
  assert.deepEqual(again.tasks, first.tasks);
  const task = b.json<{ task: { title: string; assignee: string; created_by: string } }>(
    ["show", first.tasks[0]!.id],
  );
  assert.equal(task.task.title, "Standup notes");
  assert.equal(task.task.created_by, "routine:standup");
  assert.equal(b.json<RoutineOut>(["routine", "resume", "standup"]).paused, false);
  const shown = b.kanban(["routine", "show", "standup"]);
  assert.match(shown.stdout, /cron: +0 9 \* \* 1-5 +in Europe\/Paris\n +state: +active\n/);
  assert.match(shown.stdout, /fired: +1\n/);
  const status = b.kanban(["status"]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(
    status.stdout,
    /\nroutines:\n +NAME +NEXT +CRON\n +standup +20\d\d-\d\d-\d\d 09:00 Europe\/Paris \(in \d+[mhd]\) +0 9 \* \* 1-5 \(Europe\/Paris\)\n/,
  );

  const refusals: [string[], number, RegExp][] = [
    [["routine", "add", "x", "--cron", "0 25 * * *", "--title", "t"], 2, /field 2 \(hour\) "25"/],
    [["routine", "add", "x", "--cron", "0 9 * *", "--title", "t"], 2, /4 fields; a cron has 5/],
    [
      ["routine", "add", "x", "--cron", "@daily", "--tz", "Mars/Base", "--title", "t"],
      2,
      /Unknown time zone "Mars\/Base"/,
    ],
    [["routine", "add", "x", "--cron", "@daily"], 2, /give --title TITLE .* or --template/],
    [
      ["routine", "add", "x", "--cron", "@daily", "--title", "t", "--catch-up", "later"],
      2,
      /catch-up "later": one of skip, once, all/,
    ],
    [
      ["routine", "add", "x", "--cron", "@daily", "--title", "t", "--max-catch-up", "many"],
      2,
      /--max-catch-up "many"/,
    ],
    [
      ["routine", "add", "a b", "--cron", "@daily", "--title", "t"],
      2,
      /Invalid routine name "a b"/,
    ],
    [
      ["routine", "add", "standup", "--cron", "@daily", "--title", "t"],
      1,
      /routine named "standup" exists already/,
    ],
    [["routine", "pause", "nope"], 1, /No routine "nope" \(routines: standup\)/],
    [["routine", "run-now", "standup", "--key", "has space"], 2, /Invalid run key "has space"/],
  ];
  for (const [args, code, message] of refusals) {
    const r = b.kanban(args);
    assert.equal(r.code, code, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
  }
  assert.equal(b.json<RoutineOut[]>(["routine", "list"]).length, 1, "refusals stored nothing");
  assert.equal(b.json<RoutineOut>(["routine", "remove", "standup"]).name, "standup");
  assert.match(b.kanban(["routine", "list"]).stdout, /^No routines\.\n$/);
  assert.equal(b.json<unknown[]>(["list"]).length, 1, "its task stays");
});

/** Runs `kanban dispatch --once` in `n` processes at once; resolves with their exits and output. */
function dispatchers(
  home: string,
  n: number,
): Promise<{ code: number | null; out: string; err: string }[]> {
  return Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
          const child = spawn(BINARY, ["dispatch", "--once"], {
            env: { PATH: "/usr/bin:/bin", HOME: home, KANBAN_HOME: home, USER: "e2e" },
            stdio: ["ignore", "pipe", "pipe"],
          });
          let out = "";
          let err = "";
          child.stdout!.on("data", (d) => (out += d));
          child.stderr!.on("data", (d) => (err += d));
          child.on("exit", (code) => resolve({ code, out, err }));
        }),
    ),
  );
}

Deno.test("several dist/kanban dispatch --once processes fire each missed occurrence once", async () => {
  using b = binaryHome();
  b.json(["init"]);
  b.json([
    "routine",
    "add",
    "sweep",
    "--cron",
    "* * * * *",
    "--title",
    "Sweep",
    "--catch-up",
    "all",
    "--max-catch-up",
    "5",
  ]);
  b.json([
    "routine",
    "add",
    "report",
    "--cron",
    "* * * * *",
    "--title",
    "Report",
    "--catch-up",
    "once",
  ]);
  b.json([
    "routine",
    "add",
    "quiet",
    "--cron",
    "* * * * *",
    "--title",
    "Quiet",
    "--catch-up",
    "skip",
  ]);
  // the board as if no dispatcher had run for 20 minutes: its routines' next_at moved back
  // through an export and an import (the routines' own record of when they fire next)
  const file = join(b.home, "board.jsonl");
  assert.equal(b.kanban(["export", "--out", file]).code, 0);
  const past = Date.now() - 20 * 60_000;
  const moved = readFileSync(file, "utf8").split("\n").map((line) => {
    if (!line.startsWith('{"type":"routine"')) return line;
    const r = JSON.parse(line);
    r.next_at = Math.floor(past / 60_000) * 60_000;
    return JSON.stringify(r);
  }).join("\n");
  writeFileSync(file, moved);
  const board = join(b.home, "boards", "default", "board.db");
  const fresh = join(b.home, "late.db");
  assert.equal(b.kanban(["--db", fresh, "import", file]).code, 0);
  // the default board is now the late one
  Deno.renameSync(fresh, board);
  for (const suffix of ["-wal", "-shm"]) {
    try {
      Deno.removeSync(board + suffix);
    } catch { /* none */ }
  }
  const results = await dispatchers(b.home, 4);
  for (const r of results) assert.equal(r.code, 0, r.err);
  // the pass that fired them says so, one line per occurrence
  const said = results.flatMap((r) => r.out.split("\n"))
    .filter((l) => /^routine sweep fired for \S+ \(catch-up\): t_[0-9a-f]{8}$/.test(l));
  assert.equal(said.length, 5, results.map((r) => r.out).join("\n---\n"));
  const tasks = b.json<{ title: string }[]>(["list"]);
  const count = (t: string) => tasks.filter((x) => x.title === t).length;
  assert.equal(count("Sweep"), 5, "all: the five oldest missed occurrences");
  assert.equal(count("Report"), 1, "once: one for all the missed ones");
  assert.equal(count("Quiet") <= 1, true, "skip: at most the occurrence of this minute");
  const after = b.json<RoutineOut[]>(["routine", "list"]);
  for (const r of after) assert.ok(Date.parse(r.next_at!) > Date.now() - 60_000, r.name);
  // and again: nothing more is due
  await dispatchers(b.home, 2);
  const later = b.json<{ title: string }[]>(["list"]);
  assert.ok(later.length - tasks.length <= 3, "at most one new occurrence per routine");
});

Deno.test("dist/kanban routine add --template keeps the rendered graph; run-now makes it all", () => {
  using b = binaryHome();
  b.json(["init"]);
  const release = fileURLToPath(new URL("../../docs/templates/release.toml", import.meta.url));
  const base = ["routine", "add", "weekly", "--cron", "0 8 * * mon", "--tz", "UTC"];
  const missing = b.kanban([...base, "--template", release, "--input", "change=Fixes"]);
  assert.equal(missing.code, 2, missing.stdout + missing.stderr);
  assert.match(missing.stderr, /missing input "version" \(--input version=VALUE\)/);
  const stray = b.kanban([...base, "--template", release, "--body", "x"]);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--body is for a --title routine/);
  const added = b.json<RoutineOut & { template: string; nodes: { ref: string }[] }>([
    ...base,
    "--template",
    release,
    "--input",
    "change=Weekly fixes",
    "--input",
    "version=weekly",
  ]);
  assert.equal(added.template, "release");
  assert.deepEqual(added.nodes.map((n) => n.ref), ["implement", "review", "release"]);
  assert.match(b.kanban(["routine", "list"]).stdout, /weekly .* template release \(3 tasks\)/);
  const fired = b.json<{ tasks: { ref: string; id: string }[] }>(["routine", "run-now", "weekly"]);
  assert.deepEqual(fired.tasks.map((t) => t.ref), ["implement", "review", "release"]);
  const statuses = b.json<{ title: string; status: string }[]>(["list"]).map((t) => t.status);
  assert.deepEqual(statuses.sort(), ["ready", "todo", "todo"]);
});
