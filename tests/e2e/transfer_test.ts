/**
 * `kanban export` and `kanban import` through the compiled binary and real files: a board with
 * a finished, a running and a failed task moves to a new board file, exports the same bytes
 * again, and the moved board goes on working (a new task, a claim, a completion).
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { BINARY, binaryHome } from "./_binary.ts";

const body = (text: string) => text.slice(text.indexOf("\n") + 1);

Deno.test("the binary exports a board to a file and imports it into a new board that works", () => {
  using h = binaryHome();
  h.json(["init"]);
  const a = h.json<{ id: string }>(["create", "schema", "--assignee", "coder"]).id;
  const b = h.json<{ id: string }>(["create", "api", "--parent", a, "--assignee", "coder"]).id;
  const claim = h.json<{ run: { id: number }; token: string }>(["claim", a, "--profile", "coder"]);
  h.json(["complete", "--summary", "tables made"], { KANBAN_TASK: a, KANBAN_TOKEN: claim.token });
  const running = h.json<{ run: { id: number } }>(["claim", b, "--profile", "coder"]);
  h.json(["comment", b, "started"]);
  // an attachment of every byte value moves with the board
  const bytes = new Uint8Array(1024).map((_, i) => i % 256);
  writeFileSync(join(h.home, "dump.bin"), bytes);
  assert.equal(h.kanban(["attach", b, join(h.home, "dump.bin")]).code, 0);

  const file = join(h.home, "board.jsonl");
  const out = h.kanban(["export", "--out", file]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    out.stdout,
    /^Exported 2 tasks, 1 link, 2 runs, 1 comment, 1 attachment, \d+ events, 0 subscriptions, 0 routines, 0 budgets to /,
  );

  const moved = join(h.home, "moved", "board.db");
  const imp = h.json<{ counts: Record<string, number> }>(["--db", moved, "import", file]);
  assert.equal(imp.counts["run"], 2);
  const again = join(h.home, "again.jsonl");
  assert.equal(h.kanban(["--db", moved, "export", "--out", again]).code, 0);
  assert.equal(body(readFileSync(again, "utf8")), body(readFileSync(file, "utf8")));

  // the moved board works: its running task, then new work with ids past the imported ones
  const shown = h.json<{ task: { status: string } }>(["--db", moved, "show", b]);
  assert.equal(shown.task.status, "running");
  const out2 = join(h.home, "dump-moved.bin");
  assert.equal(h.kanban(["--db", moved, "attachment", "get", b, "dump.bin", "-o", out2]).code, 0);
  assert.deepEqual(new Uint8Array(readFileSync(out2)), bytes);
  const c = h.json<{ id: string }>(["--db", moved, "create", "docs", "--assignee", "coder"]).id;
  const next = h.json<{ run: { id: number }; token: string }>([
    "--db",
    moved,
    "claim",
    c,
    "--profile",
    "coder",
  ]);
  assert.ok(next.run.id > running.run.id);
  const done = h.json<{ status: string }>(["complete", "--summary", "ok"], {
    KANBAN_DB: moved,
    KANBAN_TASK: c,
    KANBAN_TOKEN: next.token,
  });
  assert.equal(done.status, "done");
  const doctor = h.kanban(["--db", moved, "doctor"]);
  assert.equal(doctor.code, 0, doctor.stdout + doctor.stderr);

  // standard input streams through the binary too, and stdout carries the export
  const piped = join(h.home, "piped.db");
  const env = { PATH: "/usr/bin:/bin", HOME: h.home, KANBAN_HOME: h.home };
  const exp = spawnSync(BINARY, ["export"], { env, encoding: "utf8" });
  assert.equal(exp.status, 0, exp.stderr);
  assert.match(exp.stderr, /^Exported 2 tasks/);
  const fromStdin = spawnSync(BINARY, ["--db", piped, "import", "-", "--json"], {
    env,
    input: exp.stdout,
    encoding: "utf8",
  });
  assert.equal(fromStdin.status, 0, fromStdin.stdout + fromStdin.stderr);
  assert.equal(JSON.parse(fromStdin.stdout).from, "standard input");
  assert.equal(body(h.kanban(["--db", piped, "export"]).stdout), body(exp.stdout));

  // importing again into the moved board is refused, and says why
  const twice = h.kanban(["--db", moved, "import", file]);
  assert.equal(twice.code, 1);
  assert.match(twice.stderr, /already holds/);
});
