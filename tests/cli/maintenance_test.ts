import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { prepareWorkspace } from "../../lib/workspace/workspace.ts";
import { rawDb, snapshot } from "../store/sqlite/_raw.ts";
import { type CliHome, cliHome, create } from "./_cli.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DAY = 86_400_000;

interface ClaimJson {
  task: { id: string };
  run: { id: number };
  token: string;
}

interface GcJson {
  dry_run: boolean;
  tasks: number;
  workspaces: number;
  logs: number;
  events: number;
  errors: string[];
}

const boardPath = (h: CliHome) => join(h.home, "boards", "default", "board.db");
const wsRoot = (h: CliHome) => join(h.home, "workspaces", "default");
const logRoot = (h: CliHome) => join(h.home, "logs", "default");

async function ok(h: CliHome, args: string[], env?: Record<string, string>) {
  const r = await h.run(args, env);
  assert.equal(r.code, 0, `kanban ${args.join(" ")}: ${r.stdout}${r.stderr}`);
  return r;
}

/** logFile writes a run log (and its folder) last modified `ageMs` ago. */
function logFile(h: CliHome, task: string, name: string, ageMs = 0): string {
  const path = join(logRoot(h), task, name);
  mkdirSync(join(logRoot(h), task), { recursive: true });
  writeFileSync(path, "output\n");
  const t = new Date(Date.now() - ageMs);
  utimesSync(path, t, t);
  return path;
}

/** archivedWithLeftovers makes an archived task with a scratch folder, a log and events. */
async function archivedWithLeftovers(h: CliHome) {
  const id = await create(h, "old work");
  const ws = prepareWorkspace("scratch", id, { root: wsRoot(h) });
  writeFileSync(join(ws, "notes.txt"), "scratch");
  const log = logFile(h, id, "run-1.log", 40 * DAY);
  await ok(h, ["comment", id, "obsolete"]);
  await ok(h, ["archive", id]);
  return { id, ws, log };
}

Deno.test("kanban gc --dry-run reports what it would remove and changes nothing", async () => {
  using h = await cliHome();
  const { ws, log } = await archivedWithLeftovers(h);
  const before = snapshot(boardPath(h));
  const r = await ok(h, ["gc", "--dry-run", "--older-than", "0", "--json"]);
  const report = r.json<GcJson>();
  assert.deepEqual(
    [report.dry_run, report.tasks, report.workspaces, report.logs, report.events],
    [true, 1, 1, 1, 2],
  );
  assert.ok(existsSync(join(ws, "notes.txt")));
  assert.ok(existsSync(log));
  assert.deepEqual(snapshot(boardPath(h)), before);
  const text = await ok(h, ["gc", "--dry-run", "--older-than", "0", "--verbose"]);
  assert.match(text.stdout, new RegExp(`would remove ${ws}\n`));
  assert.match(
    text.stdout,
    /dry run: would remove 1 workspace\(s\), 1 log file\(s\), 0 attachment\(s\) and 2 event/,
  );
});

Deno.test("kanban gc is silent, and removes only the scratch folder of an archived task", async () => {
  using h = await cliHome();
  const { id: gone, ws: goneWs, log } = await archivedWithLeftovers(h);
  const running = await create(h, "in progress");
  await ok(h, ["claim", running, "--json"]);
  const runningWs = prepareWorkspace("scratch", running, { root: wsRoot(h) });
  const shared = join(h.home, "shared");
  mkdirSync(shared);
  writeFileSync(join(shared, "keep.txt"), "shared");
  const dirTask = await create(h, "shared work", "--workspace", `dir:${shared}`);
  await ok(h, ["archive", dirTask]);
  const recent = await create(h, "recent");
  const recentWs = prepareWorkspace("scratch", recent, { root: wsRoot(h) });
  await ok(h, ["archive", recent]);

  const quiet = await h.run(["gc"]); // default: archived more than 30 days ago
  assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, "", ""]);
  assert.ok(existsSync(goneWs) && existsSync(recentWs));

  const r = await h.run(["gc", "--older-than", "0"]);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, "", ""]);
  assert.equal(existsSync(goneWs), false);
  assert.equal(existsSync(join(logRoot(h), gone)), false);
  assert.equal(existsSync(log), false);
  assert.equal(existsSync(recentWs), false);
  assert.ok(existsSync(runningWs), "the running task's workspace stays");
  assert.ok(existsSync(join(shared, "keep.txt")), "a dir: workspace is never removed");
  assert.deepEqual(readdirSync(join(wsRoot(h), "scratch")), [running]);
});

Deno.test("kanban gc removes the git worktree of an archived task", async () => {
  using h = await cliHome();
  const repo = join(h.home, "repo");
  mkdirSync(repo);
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
      cwd: repo,
      encoding: "utf8",
    });
  git("init", "-q");
  git("commit", "-q", "--allow-empty", "-m", "init");
  writeFileSync(join(h.home, "config.toml"), `[dispatch]\nrepository = ${JSON.stringify(repo)}\n`);
  const id = await create(h, "feature", "--workspace", "worktree");
  const wt = prepareWorkspace("worktree", id, { root: wsRoot(h), repository: repo });
  assert.match(git("worktree", "list"), new RegExp(id));
  await ok(h, ["archive", id]);
  const r = await ok(h, ["gc", "--older-than", "0", "--json"]);
  assert.equal(r.json<GcJson>().workspaces, 1);
  assert.equal(existsSync(wt), false);
  assert.doesNotMatch(git("worktree", "list"), new RegExp(id));
});

Deno.test("kanban gc removes run logs older than the cutoff, except an open run's", async () => {
  using h = await cliHome();
  const done = await create(h, "done");
  await ok(h, ["complete", done, "--summary", "ok"]);
  const oldLog = logFile(h, done, "run-1.log", 40 * DAY);
  const oldPart = logFile(h, done, "run-1.log.1", 40 * DAY);
  const oldPrompt = logFile(h, done, "run-1.prompt.md", 40 * DAY);
  const newLog = logFile(h, done, "run-2.log", DAY);
  const other = logFile(h, done, "notes.txt", 40 * DAY);
  const running = await create(h, "long runner");
  const c = (await ok(h, ["claim", running, "--json"])).json<ClaimJson>();
  const openLog = logFile(h, running, `run-${c.run.id}.log`, 40 * DAY);
  const olderRun = logFile(h, running, `run-${c.run.id + 100}.log`, 40 * DAY);

  const r = await ok(h, ["gc", "--verbose"]);
  assert.match(
    r.stdout,
    /^removed 0 workspace\(s\), 4 log file\(s\), 0 attachment\(s\) and 0 event\(s\)/m,
  );
  for (const f of [oldLog, oldPart, oldPrompt, olderRun]) {
    assert.equal(existsSync(f), false, f);
    assert.match(r.stdout, new RegExp(`removed ${f}\n`));
  }
  for (const f of [newLog, other, openLog]) assert.ok(existsSync(f), f);
});

Deno.test("kanban gc prunes a done parent's events and its child's context keeps the handoff", async () => {
  using h = await cliHome();
  const parent = await create(h, "schema", "--assignee", "coder");
  const child = await create(h, "api", "--parent", parent);
  const c = (await ok(h, ["claim", "--json"])).json<ClaimJson>();
  const env = { KANBAN_TASK: parent, KANBAN_TOKEN: c.token, KANBAN_PROFILE: "coder" };
  await ok(h, ["heartbeat", "--note", "halfway"], env);
  await ok(h, ["comment", "made the tables"], env);
  await ok(h, ["complete", "--summary", "3 tables", "--metadata", '{"tables":3}'], env);
  const before = (await ok(h, ["context", child])).stdout;

  const r = await ok(h, ["gc", "--older-than", "0", "--json"]);
  assert.equal(r.json<GcJson>().events, 3);
  const show = (await ok(h, ["show", parent, "--json"])).json<{ events: { kind: string }[] }>();
  assert.deepEqual(show.events.map((e) => e.kind), ["created", "completed"]);
  const after = (await ok(h, ["context", child])).stdout;
  assert.equal(after, before);
  assert.match(after, /> 3 tables/);
  assert.match(after, /\{"tables":3\}/);
});

Deno.test("kanban gc refuses a bad --older-than with a usage error", async () => {
  using h = await cliHome();
  const r = await h.run(["gc", "--older-than", "soon"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /"soon" is not a duration/);
});

Deno.test("kanban backup copies the board while another process writes tasks in a loop", async () => {
  using h = await cliHome();
  const stop = join(h.home, "stop");
  const writer = spawn(
    Deno.execPath(),
    ["run", "-A", join(ROOT, "tests/cli/_writer.ts"), boardPath(h), stop],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  let err = "";
  writer.stdout.setEncoding("utf8").on("data", (s: string) => void (out += s));
  writer.stderr.setEncoding("utf8").on("data", (s: string) => void (err += s));
  const exited = new Promise<number | null>((resolve) => writer.on("close", resolve));
  try {
    while (!out.includes('{"ready":true}')) {
      if (writer.exitCode !== null) throw new Error(`writer exited early: ${err}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const target = join(h.home, "backups", "board.db");
    const r = await ok(h, ["backup", target, "--json"]);
    const b = r.json<{ path: string; bytes: number }>();
    assert.equal(b.path, target);
    const text = await ok(h, ["backup", join(h.home, "backups", "second.db")]);
    assert.match(text.stdout, /second\.db \(\d+(\.\d)? [KM]B\)\n$/);

    writeFileSync(stop, "");
    assert.equal(await exited, 0, err);
    const written = (JSON.parse(out.trim().split("\n").at(-1)!) as { written: number }).written;

    const db = new DatabaseSync(target, { readOnly: true });
    try {
      const one = (sql: string) => Object.values(db.prepare(sql).get()!)[0];
      assert.equal(one("PRAGMA integrity_check"), "ok");
      const tasks = Number(one("SELECT count(*) FROM tasks"));
      assert.ok(tasks >= 20 && tasks <= written, `${tasks} tasks of ${written}`);
      // One snapshot: every task has its created event, and the titles have no gaps.
      assert.equal(Number(one("SELECT count(*) FROM task_events WHERE kind = 'created'")), tasks);
      const titles = db.prepare("SELECT title FROM tasks").all().map((r) => String(r["title"]));
      assert.deepEqual(
        titles.map((t) => Number(t.slice(2))).sort((a, b) => a - b),
        Array.from({ length: tasks }, (_, i) => i),
      );
    } finally {
      db.close();
    }
  } finally {
    writeFileSync(stop, "");
    await exited;
  }
});

Deno.test("kanban backup refuses an existing file with exit 1", async () => {
  using h = await cliHome();
  const target = join(h.home, "exists.db");
  writeFileSync(target, "keep me");
  const r = await h.run(["backup", target, "--json"]);
  assert.equal(r.code, 1);
  assert.equal(r.json<{ error: { code: string } }>().error.code, "backup_exists");
  const text = await h.run(["backup", target]);
  assert.match(text.stderr, /^kanban: Cannot back up to ".*exists\.db": the file exists/);
});

Deno.test("kanban doctor exits 0 on a healthy board and 1 naming the broken invariant", async () => {
  using h = await cliHome();
  const a = await create(h, "one");
  await create(h, "two");
  const healthy = await ok(h, ["doctor"]);
  assert.match(healthy.stdout, /^ok: .*board\.db: integrity, foreign keys and invariants hold\n$/);
  assert.equal((await ok(h, ["doctor", "--json"])).json()["ok"], true);
  {
    using db = rawDb(boardPath(h));
    db.prepare("UPDATE tasks SET status = 'todo' WHERE id = ?").run(a); // allowed by the CHECKs
  }
  const sick = await h.run(["doctor"]);
  assert.equal(sick.code, 1);
  assert.equal(
    sick.stdout,
    `problem: a todo task whose parents are all done: ${a}\n1 problem(s) found in ${
      boardPath(h)
    }\n`,
  );
  const json = await h.run(["doctor", "--json"]);
  assert.equal(json.code, 1);
  assert.deepEqual(json.json<{ ok: boolean; problems: unknown[] }>().problems, [
    { check: "a todo task whose parents are all done", ids: [a] },
  ]);
});

Deno.test("kanban doctor warns about a long-expired open run with a repair hint, exit 0", async () => {
  using h = await cliHome();
  const id = await create(h, "job");
  const c = (await ok(h, ["claim", "--json"])).json<ClaimJson>();
  {
    using db = rawDb(boardPath(h));
    db.prepare("UPDATE task_runs SET lease_expires = ? WHERE id = ?").run(
      Date.now() - DAY,
      c.run.id,
    );
  }
  const r = await ok(h, ["doctor"]);
  assert.match(
    r.stdout,
    new RegExp(
      `^warning: open runs whose lease expired long ago: ${c.run.id} \\(.*${id}.*\\)$`,
      "m",
    ),
  );
  assert.match(r.stdout, /^ {2}hint: .*kanban dispatch/m);
  assert.match(r.stdout, /^ok: .*\(1 warning\(s\)\)$/m);
  assert.equal((await ok(h, ["doctor", "--stale-after", "2d"])).stdout.includes("warning"), false);
});

Deno.test("doctor --repair ends runs whose lease expired with no live worker", async () => {
  using h = await cliHome();
  const id = await create(h, "claimed and abandoned");
  const claim = await h.run(["claim", id, "--lease", "1s", "--json"]);
  assert.equal(claim.code, 0);
  await new Promise((r) => setTimeout(r, 1_100)); // the CLI runs on the real clock
  const repaired = await h.run(["doctor", "--repair"]);
  assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
  assert.match(
    repaired.stderr,
    new RegExp(`repaired: run 1 of ${id} ended as lost; the task is ready`),
  );
  const runs = (await h.run(["runs", id, "--json"])).json<{ outcome: string }[]>();
  assert.equal(runs[0]!.outcome, "lost");
});
