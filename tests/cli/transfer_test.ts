/**
 * `kanban export` and `kanban import` in-process: files, standard input and output, --json
 * counts, and the refusals a person sees.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CliHome, cliHome, create } from "./_cli.ts";

async function ok(h: CliHome, args: string[], stdin?: string) {
  const r = await h.run(args, {}, stdin);
  assert.equal(r.code, 0, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r;
}

/** body is an export without its header line. */
const body = (text: string) => text.slice(text.indexOf("\n") + 1);

async function sample(h: CliHome) {
  const a = await create(h, "schema", "--assignee", "coder");
  const b = await create(h, "api", "--parent", a);
  await ok(h, ["comment", a, "a note"]);
  await ok(h, ["notify", "add", "--command", "true"]);
  return { a, b };
}

Deno.test("kanban export --out writes the file whole (0600) and import fills a new board", async () => {
  using h = await cliHome();
  await sample(h);
  const file = join(h.home, "board.jsonl");
  const out = await ok(h, ["export", "--out", file]);
  assert.match(
    out.stdout,
    /^Exported 2 tasks, 1 link, 0 runs, 1 comment, 0 attachments, \d+ events, 1 subscription, 0 routines, 0 budgets to /,
  );
  assert.equal(existsSync(`${file}.tmp`), false);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const db = join(h.home, "moved", "board.db");
  const r = await ok(h, ["--db", db, "import", file, "--json"]);
  const report = r.json<
    { board: string; counts: Record<string, number>; source: { driver: string } }
  >();
  assert.equal(report.board, db);
  assert.equal(report.counts["task"], 2);
  assert.equal(report.source.driver, "sqlite");
  const again = join(h.home, "again.jsonl");
  await ok(h, ["--db", db, "export", "--out", again]);
  assert.equal(body(readFileSync(again, "utf8")), body(readFileSync(file, "utf8")));
  const list = await ok(h, ["--db", db, "list", "--json"]);
  assert.equal(list.json<unknown[]>().length, 2);
});

Deno.test("kanban export to stdout and import - from stdin; counts on stderr", async () => {
  using h = await cliHome();
  await sample(h);
  const r = await ok(h, ["export"]);
  assert.match(r.stderr, /^Exported 2 tasks, 1 link/);
  assert.match(r.stdout, /^\{"kanban":"board-export","version":2,/);
  const j = await ok(h, ["export", "--json"]);
  assert.equal(JSON.parse(j.stderr).counts.task, 2);
  assert.equal(body(j.stdout), body(r.stdout));
  const db = join(h.home, "piped.db");
  const imp = await ok(h, ["--db", db, "import", "-"], r.stdout);
  assert.match(
    imp.stdout,
    /^Imported 2 tasks, 1 link, 0 runs, 1 comment, 0 attachments, \d+ events, 1 subscription, 0 routines, 0 budgets into /,
  );
});

Deno.test("kanban import refuses a non-empty board, a bad line and a missing file, exit 1", async () => {
  using h = await cliHome();
  await sample(h);
  const file = join(h.home, "board.jsonl");
  await ok(h, ["export", "--out", file]);
  const full = await h.run(["import", file]);
  assert.equal(full.code, 1);
  assert.match(full.stderr, /Cannot import into the board at ".*": it already holds 2 tasks/);
  const bad = join(h.home, "bad.jsonl");
  const lines = readFileSync(file, "utf8").split("\n");
  lines[2] = "{oops";
  writeFileSync(bad, lines.join("\n"));
  const db = join(h.home, "new.db");
  const r = await h.run(["--db", db, "import", bad, "--json"]);
  assert.equal(r.code, 1);
  const err = r.json<{ error: { code: string; message: string } }>().error;
  assert.equal(err.code, "invalid_export");
  assert.match(err.message, /bad\.jsonl: line 3: not valid JSON/);
  // the refused import left an empty board, which a good import then fills
  await ok(h, ["--db", db, "import", file]);
  const missing = await h.run(["--db", join(h.home, "x.db"), "import", join(h.home, "nope")]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /No export file ".*nope"/);
  assert.equal(existsSync(join(h.home, "x.db")), false, "a board was made for a missing file");
});

Deno.test("kanban export --out into a missing folder says which file it could not write", async () => {
  using h = await cliHome();
  const file = join(h.home, "no", "such", "board.jsonl");
  const r = await h.run(["export", "--out", file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Cannot write ".*board\.jsonl\.tmp": ENOENT/);
  assert.equal(existsSync(file), false);
});

Deno.test("kanban export --out refuses an empty name (exit 2) and a folder (exit 1)", async () => {
  using h = await cliHome();
  const empty = await h.run(["export", "--out", ""]);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /--out needs a file name/);
  const dir = await h.run(["export", "--out", h.home]);
  assert.equal(dir.code, 1);
  assert.match(dir.stderr, /it is a directory/);
  const folder = await h.run(["--db", join(h.home, "n.db"), "import", h.home]);
  assert.equal(folder.code, 1);
  assert.match(folder.stderr, /Cannot read ".*": it is a directory/);
  assert.equal(existsSync(join(h.home, "n.db")), false);
});
