/**
 * Limits at the edges of the CLI: every file and stream read is capped while reading (an
 * endless `/dev/zero` fails at once), and a board file with a damaged page is reported as
 * such, by doctor with the backup to restore and how, by every other verb with a clear error.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  mkdirSync,
  openSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";
import { BODY_MAX_BYTES, openStore } from "../../lib/store/mod.ts";
import { readCapped, readStreamCapped, TooLargeError } from "../../lib/readcap.ts";
import { installSkill } from "../../lib/cli/verbs/skills.ts";
import { readToken, tokenPath } from "../../lib/http/token.ts";
import { SKILLS } from "../../skills/mod.ts";
import { tempDir } from "../_setup.ts";
import { type CliHome, cliHome, create } from "./_cli.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

const boardPath = (h: CliHome) => join(h.home, "boards", "default", "board.db");

/** fast runs `fn` and fails when it took longer than `ms`: a capped read stops at once. */
async function fast<T>(ms: number, fn: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  const out = await fn();
  const took = performance.now() - t0;
  assert.ok(took < ms, `took ${Math.round(took)} ms`);
  return out;
}

/**
 * kanbanProcess runs `main.ts ARGS < STDIN` as its own process (through sh, so that stdin is
 * a redirect as a person types it), killed after 60 s: a read that never stops fails the
 * test rather than hanging it.
 */
function kanbanProcess(home: string, args: string[], stdin = "/dev/null") {
  const r = spawnSync(
    "sh",
    // deno's path goes in the environment: node:child_process under Deno rewrites an
    // argument list that holds it (it adds `run -A ...` for a deno it thinks it starts)
    ["-c", `exec "$DENO" run -A main.ts "$@" < '${stdin}'`, "kanban", ...args],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 60_000,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        DENO: Deno.execPath(),
        KANBAN_HOME: home,
        USER: "t",
      },
    },
  );
  assert.equal(r.signal, null, `kanban ${args.join(" ")} was killed after 60 s: it kept reading`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// --- reads -------------------------------------------------------------------------------

Deno.test("readCapped() reads a file of exactly the cap, and stops one byte past it", () => {
  using tmp = tempDir();
  const file = join(tmp.dir, "f.txt");
  writeFileSync(file, "é".repeat(50)); // 100 bytes of UTF-8
  assert.equal(readCapped(file, 100, "f.txt"), "é".repeat(50));
  assert.throws(
    () => readCapped(file, 99, `"f.txt"`),
    (e: Error) =>
      e instanceof TooLargeError && e.code === "too_large" && e.limit === 99 &&
      e.message === `"f.txt" is larger than 99 bytes (reading stopped there)`,
  );
  // errors of the file itself are left to the caller to name
  assert.throws(() => readCapped(join(tmp.dir, "nope"), 10, "nope"), /ENOENT/);
  assert.throws(() => readCapped(tmp.dir, 10, "a folder"), /EISDIR/);
});

Deno.test("readCapped() on /dev/zero stops at the cap at once", async () => {
  await fast(5_000, () => {
    assert.throws(
      () => readCapped("/dev/zero", 1024 * 1024, "/dev/zero"),
      /\/dev\/zero is larger than 1 MiB \(reading stopped there\)/,
    );
  });
});

Deno.test("readStreamCapped() stops reading an endless stream past the cap and closes it", async () => {
  let closed = false;
  let chunks = 0;
  async function* endless() {
    try {
      for (;;) {
        chunks++;
        yield new Uint8Array(4096);
      }
    } finally {
      closed = true;
    }
  }
  await assert.rejects(
    readStreamCapped(endless(), 10_000, "standard input"),
    /standard input is larger than 10000 bytes/,
  );
  assert.equal(closed, true);
  assert.equal(chunks, 3); // 12,288 bytes: one chunk past the cap, no more
  async function* two() {
    yield new TextEncoder().encode("hé");
    yield new TextEncoder().encode("llo");
  }
  assert.equal(await readStreamCapped(two(), 6, "stdin"), "héllo");
});

Deno.test("create and edit --body-file /dev/zero fail at once with a clear error, changing nothing", async () => {
  using h = await cliHome();
  const id = await create(h, "keep me", "--body", "before");
  for (
    const args of [["create", "zeros", "--body-file", "/dev/zero"], [
      "edit",
      id,
      "--body-file",
      "/dev/zero",
    ]]
  ) {
    const r = await fast(5_000, () => h.run(args));
    assert.equal(r.code, 2, args.join(" "));
    assert.equal(
      r.stderr,
      'kanban: --body-file "/dev/zero" is larger than 1 MiB, the largest task body (reading stopped there)\n',
    );
  }
  // the real process, too
  const real = kanbanProcess(h.home, ["create", "zeros", "--body-file", "/dev/zero"]);
  assert.equal(real.code, 2, real.stderr);
  assert.match(real.stderr, /"\/dev\/zero" is larger than 1 MiB, the largest task body/);
  const list = await h.run(["list", "--json"]);
  assert.deepEqual(list.json<{ title: string }[]>().map((t) => t.title), ["keep me"]);
  assert.equal(
    (await h.run(["show", id, "--json"])).json<{ task: { body: string } }>().task.body,
    "before",
  );
});

Deno.test("--body-file takes a body of exactly 1 MiB, and refuses one byte more", async () => {
  using h = await cliHome();
  const file = join(h.home, "body.md");
  writeFileSync(file, "x".repeat(BODY_MAX_BYTES));
  const id = await create(h, "big", "--body-file", file);
  assert.equal(
    (await h.run(["show", id, "--json"])).json<{ task: { body: string } }>().task.body.length,
    BODY_MAX_BYTES,
  );
  writeFileSync(file, "x".repeat(BODY_MAX_BYTES + 1));
  const r = await h.run(["create", "bigger", "--body-file", file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /body\.md" is larger than 1 MiB, the largest task body/);
  const missing = await h.run(["create", "gone", "--body-file", join(h.home, "nope.md")]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Cannot read --body-file ".*nope\.md": ENOENT/);
});

Deno.test("--body-file - reads standard input up to 1 MiB; an endless stdin (the real process) fails fast", async () => {
  using h = await cliHome();
  const id = await create(h, "from stdin", "--body-file", "-");
  assert.equal(
    (await h.run(["show", id, "--json"])).json<{ task: { body: string } }>().task.body,
    "",
  );
  const piped = await h.run(["create", "piped", "--body-file", "-", "--json"], {}, "# notes\n");
  assert.equal(piped.code, 0);
  const over = await h.run(
    ["create", "over", "--body-file", "-"],
    {},
    "y".repeat(BODY_MAX_BYTES + 1),
  );
  assert.equal(over.code, 2);
  assert.match(over.stderr, /--body-file - \(standard input\) is larger than 1 MiB/);

  // main.ts's own stdin reader, fed /dev/zero: it stops at the cap
  const r = kanbanProcess(h.home, ["create", "zeros", "--body-file", "-"], "/dev/zero");
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--body-file - \(standard input\) is larger than 1 MiB/);
  const titles = (await h.run(["list", "--json"])).json<{ title: string }[]>().map((t) => t.title);
  assert.deepEqual(titles.sort(), ["from stdin", "piped"]);
});

Deno.test('prompt_file = "/dev/zero" fails fast: dispatch refuses the config, naming file, key and cap', async () => {
  using h = await cliHome();
  const config = join(h.home, "config.toml");
  writeFileSync(config, '[profiles.coder]\npreset = "claude-code"\nprompt_file = "/dev/zero"\n');
  const r = kanbanProcess(h.home, ["dispatch", "--once", "--config", config]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(
    r.stderr,
    `kanban: ${config}: profiles.coder.prompt_file: "/dev/zero" is larger than 1 MiB, ` +
      "the largest prompt template\n",
  );
});

Deno.test("skills install compares an installed file without reading past the skill's size", async () => {
  using tmp = tempDir();
  const skill = SKILLS[0]!;
  mkdirSync(join(tmp.dir, skill.name));
  symlinkSync("/dev/zero", join(tmp.dir, skill.name, "SKILL.md"));
  const r = await fast(5_000, () => installSkill(tmp.dir, skill, false));
  assert.equal(r.action, "kept");
});

Deno.test("a token file larger than 4 KiB is refused without reading it all", () => {
  using tmp = tempDir();
  const board = join(tmp.dir, "board.db");
  writeFileSync(tokenPath(board), `kb_${"a".repeat(43)}\n`.padEnd(8192, " "));
  chmodSync(tokenPath(board), 0o600);
  assert.throws(() => readToken(tokenPath(board)), /The token file ".*" is larger than 4 KiB/);
});

// --- a damaged board ----------------------------------------------------------------------

/**
 * damage writes garbage over one leaf page of the tasks table in the middle of the board
 * file: what a bad sector or a stray write leaves. Returns the page number.
 */
function damage(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  let page: number;
  let size: number;
  try {
    const leaves = db.prepare(
      "SELECT pageno FROM dbstat WHERE name = 'tasks' AND pagetype = 'leaf' ORDER BY pageno",
    ).all() as { pageno: number }[];
    page = leaves[Math.floor(leaves.length / 2)]!.pageno;
    size = (db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size;
  } finally {
    db.close();
  }
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, new Uint8Array(size).fill(0x5a), 0, size, (page - 1) * size);
  } finally {
    closeSync(fd);
  }
  return page;
}

/** seed puts a few hundred tasks on the board, in one transaction. */
async function seed(h: CliHome, n = 300): Promise<void> {
  using store = openStore(boardPath(h));
  await store.createTasks(
    Array.from(
      { length: n },
      (_, i) => ({ title: `task ${i}`, body: `${"text ".repeat(100)}${i}` }),
    ),
    { name: "seed" },
  );
}

/** backupAt takes a real backup to `file`, dated `daysAgo`. */
async function backupAt(h: CliHome, file: string, daysAgo: number): Promise<void> {
  const r = await h.run(["backup", file]);
  assert.equal(r.code, 0, r.stderr);
  const t = new Date(Date.now() - daysAgo * 86_400_000);
  utimesSync(file, t, t);
}

Deno.test("doctor on a board with a damaged page reports it, names the newest backup and how to restore it; exit 1", async () => {
  using h = await cliHome();
  await seed(h);
  const backups = join(h.home, "backups");
  await backupAt(h, join(backups, "board-old.db"), 3);
  await backupAt(h, join(backups, "board-new.db"), 1);
  writeFileSync(join(backups, "notes.txt"), "not a backup"); // newer, but not a SQLite file
  damage(boardPath(h));

  const r = await h.run(["doctor"]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr, "");
  const lines = r.stdout.trimEnd().split("\n");
  assert.match(lines[0]!, /^problem: (integrity_check|quick_check) \(.*tasks.*\)$/);
  assert.ok(lines.includes("problem: invariants (not checked: the board file is damaged)"));
  const board = boardPath(h);
  const newest = join(backups, "board-new.db");
  const hint = lines.findIndex((l) => l.startsWith("hint: the board file is damaged"));
  assert.ok(hint > 0, r.stdout);
  assert.match(lines[hint]!, new RegExp(`newest backup found is ${newest} \\(written `));
  assert.deepEqual(lines.slice(hint + 1), [
    "  1. stop every kanban dispatch and kanban serve that uses this board",
    `  2. for f in '${board}' '${board}-wal' '${board}-shm'; do if [ -e "$f" ]; then mv "$f" "$f.corrupt"; fi; done`,
    `  3. cp '${newest}' '${board}'`,
    `  4. kanban --db '${board}' doctor`,
  ]);

  const repair = await h.run(["doctor", "--repair"]);
  assert.equal(repair.code, 1);
  assert.equal(repair.stdout, r.stdout); // --repair on a damaged file: the same report

  const json = await h.run(["doctor", "--json"]);
  assert.equal(json.code, 1);
  const report = json.json<
    { ok: boolean; restore: { backup: { path: string }; steps: string[] } }
  >();
  assert.equal(report.ok, false);
  assert.equal(report.restore.backup.path, newest);

  // the steps, run as printed, give back a healthy board
  for (const step of report.restore.steps.slice(1, 3)) {
    const sh = spawnSync("sh", ["-c", step], { encoding: "utf8" });
    assert.equal(sh.status, 0, `${step}: ${sh.stderr}`);
  }
  const after = await h.run(["doctor"]);
  assert.equal(after.code, 0, after.stdout);
  assert.equal((await h.run(["list", "--json"])).json<unknown[]>().length, 300);
});

Deno.test("other verbs on a damaged board say the file is corrupt and to run doctor, not 'internal error'", async () => {
  using h = await cliHome();
  await seed(h);
  damage(boardPath(h));
  const r = await h.run(["list"]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `kanban: The board file "${boardPath(h)}" is corrupt (database disk image is malformed); ` +
      "run kanban doctor\n",
  );
  const json = await h.run(["stats", "--json"]);
  assert.equal(json.code, 1);
  assert.equal(json.json<{ error: { code: string } }>().error.code, "corrupt");
  const backup = await h.run(["backup", join(h.home, "copy.db")]);
  assert.equal(backup.code, 1);
  assert.match(backup.stderr, /is corrupt \(database disk image is malformed\); run kanban doctor/);
});

Deno.test("doctor on a board too damaged to open still reports, and says when there is no backup", async () => {
  using h = await cliHome();
  await seed(h, 50);
  {
    // the schema page, past the 100-byte file header: the board cannot even be opened
    const fd = openSync(boardPath(h), "r+");
    writeSync(fd, new Uint8Array(4096 - 100).fill(0x5a), 0, 4096 - 100, 100);
    closeSync(fd);
  }
  const r = await h.run(["doctor"]);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines[0], "problem: open (cannot open the board: database disk image is malformed)");
  assert.match(
    lines.at(-1)!,
    new RegExp(
      `^hint: the board file is damaged and no backup was found in ${join(h.home, "backups")} or ` +
        `${join(h.home, "boards", "default", "backups")}; keep a copy of the file`,
    ),
  );
  const list = await h.run(["list", "--json"]);
  assert.equal(list.json<{ error: { code: string } }>().error.code, "corrupt");
});
