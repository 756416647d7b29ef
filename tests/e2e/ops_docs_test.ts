/**
 * The systemd unit and the crontab in docs/ work as written: their commands run against a real
 * board with the compiled binary (the binary path and KANBAN_HOME substituted), the crontab
 * with cron's own rules (environment lines, `%`, a minimal environment, /bin/sh), and the
 * unit's keys sit in the right sections. docs/operations.md quotes both files exactly.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { tempDir } from "../_setup.ts";
import { BINARY, binaryHome } from "./_binary.ts";

const DOCS = new URL("../../docs/", import.meta.url);
const read = (name: string) => readFileSync(new URL(name, DOCS), "utf8");
const UNIT = read("kanban-dispatch.service");
const CRONTAB = read("kanban.crontab");
const INSTALLED_BINARY = "/usr/local/bin/kanban";
const DAY = 86_400_000;

// --- the unit -------------------------------------------------------------------------------

/** Keys this unit may use, by section (systemd.unit(5), systemd.service(5), systemd.kill(5)). */
const SECTION_KEYS: Record<string, string[]> = {
  Unit: ["Description", "Documentation", "After", "Wants", "Requires", "Before"],
  Service: [
    "Type",
    "User",
    "Group",
    "Environment",
    "EnvironmentFile",
    "WorkingDirectory",
    "ExecStart",
    "ExecStartPre",
    "KillMode",
    "Delegate",
    "ExecReload",
    "KillSignal",
    "TimeoutStopSec",
    "Restart",
    "RestartSec",
  ],
  Install: ["WantedBy"],
};

interface UnitFile {
  sections: Map<string, [string, string][]>;
  get(section: string, key: string): string[];
}

function parseUnit(text: string): UnitFile {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | null = null;
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      assert.equal(sections.has(header[1]!), false, `section [${header[1]}] twice`);
      current = [];
      sections.set(header[1]!, current);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv, `line ${i + 1} is not KEY=VALUE: ${raw}`);
    assert.ok(current, `line ${i + 1} comes before any section`);
    assert.ok(!raw.endsWith("\\"), `line ${i + 1}: no continuation lines`);
    current.push([kv[1]!, kv[2]!]);
  }
  return {
    sections,
    get: (section, key) =>
      (sections.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v),
  };
}

/** environmentOf reads the unit's `Environment=` assignments (unquoted ones only). */
function environmentOf(unit: UnitFile): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of unit.get("Service", "Environment")) {
    for (const pair of value.split(/\s+/)) {
      assert.doesNotMatch(pair, /["']/, "quoted Environment values are not handled here");
      const eq = pair.indexOf("=");
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

Deno.test("docs/kanban-dispatch.service puts each key in its section and restarts on failure", () => {
  const unit = parseUnit(UNIT);
  assert.deepEqual([...unit.sections.keys()], ["Unit", "Service", "Install"]);
  for (const [section, entries] of unit.sections) {
    for (const [key] of entries) {
      assert.ok(SECTION_KEYS[section]!.includes(key), `${key}= does not belong in [${section}]`);
    }
  }
  assert.equal(unit.get("Service", "ExecStart").length, 1);
  assert.deepEqual(unit.get("Service", "Restart"), ["on-failure"]);
  assert.ok(["mixed", "control-group"].includes(unit.get("Service", "KillMode")[0]!));
  const timeout = unit.get("Service", "TimeoutStopSec")[0] ?? "";
  assert.match(timeout, /^\d+$/);
  assert.ok(Number(timeout) > 10 + 15, "TimeoutStopSec leaves the default stop_grace a margin");
  assert.ok(environmentOf(unit)["KANBAN_HOME"]?.startsWith("/"));
  assert.deepEqual(unit.get("Install", "WantedBy"), ["multi-user.target"]);
});

Deno.test("docs/kanban-dispatch.service passes systemd-analyze verify with the real binary", () => {
  const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
  if (analyze.error) return; // not a systemd host: the section check above still ran
  using tmp = tempDir("kanban-unit-");
  const file = join(tmp.dir, "kanban-dispatch.service");
  writeFileSync(file, UNIT.replaceAll(INSTALLED_BINARY, BINARY));
  const r = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.includes("kanban-dispatch.service"), false, r.stderr);
});

Deno.test("docs/kanban-dispatch.service's ExecStart is the dispatch verb; it runs a pass with --once", () => {
  const unit = parseUnit(UNIT);
  const execStart = unit.get("Service", "ExecStart")[0]!;
  assert.doesNotMatch(execStart, /["'$%\\]/, "ExecStart is split on spaces here: keep it plain");
  const [bin, verb, ...flags] = execStart.split(/\s+/);
  assert.equal(bin, INSTALLED_BINARY);
  assert.equal(verb, "dispatch");

  using b = binaryHome();
  const help = b.kanban(["dispatch", "--help"]);
  assert.equal(help.code, 0, `kanban dispatch is missing: ${help.stderr}`);
  for (const flag of flags) {
    assert.ok(help.stdout.includes(flag.split("=")[0]!), `dispatch --help lacks ${flag}`);
  }
  const env = { ...environmentOf(unit), KANBAN_HOME: b.home };
  assert.equal(b.kanban(["init"], env).code, 0);
  // --serve belongs to the long-running dispatcher: the one pass here runs without it.
  const pass = flags.filter((f) => f !== "--serve");
  const r = b.kanban([verb!, ...pass, "--once", "--json"], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(JSON.parse(r.stdout)["active"], true);
});

// --- the crontab ----------------------------------------------------------------------------

interface CronJob {
  schedule: string[];
  /** The command as cron hands it to /bin/sh (`\%` unescaped). */
  command: string;
}

const FIELD_RANGES: [number, number][] = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 7]];

function assertField(field: string, [lo, hi]: [number, number]): void {
  for (const part of field.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    assert.ok(m, `bad cron field "${field}"`);
    for (const n of [m[2], m[3]].filter((v) => v !== undefined).map(Number)) {
      assert.ok(n >= lo && n <= hi, `cron field "${field}" is out of ${lo}-${hi}`);
    }
  }
}

/** parseCrontab reads environment lines and jobs the way cron does. */
function parseCrontab(text: string): { env: Record<string, string>; jobs: CronJob[] } {
  const env: Record<string, string> = {};
  const jobs: CronJob[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const assignment = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (assignment) {
      env[assignment[1]!] = assignment[2]!;
      continue;
    }
    const fields = line.split(/\s+/);
    const schedule = fields.slice(0, 5);
    schedule.forEach((f, i) => assertField(f, FIELD_RANGES[i]!));
    const rest = line.replace(/^(\S+\s+){5}/, "");
    // An unescaped % ends the command (the rest becomes stdin): not what these lines mean.
    assert.doesNotMatch(rest, /(^|[^\\])%/, `unescaped % in: ${rest}`);
    jobs.push({ schedule, command: rest.replaceAll("\\%", "%") });
  }
  return { env, jobs };
}

/** cronRun runs a job's command as cron would: /bin/sh -c, a minimal environment. */
function cronRun(command: string, env: Record<string, string>, home: string) {
  const r = spawnSync("/bin/sh", ["-c", command.replaceAll(INSTALLED_BINARY, BINARY)], {
    env: { HOME: home, LOGNAME: "kanban", SHELL: "/bin/sh", PATH: "/usr/bin:/bin", ...env },
    cwd: home,
    encoding: "utf8",
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function crontab() {
  const { env, jobs } = parseCrontab(CRONTAB);
  const job = (verb: string) => {
    const found = jobs.find((j) => j.command.startsWith(`${INSTALLED_BINARY} ${verb}`));
    assert.ok(found, `no "kanban ${verb}" line in docs/kanban.crontab`);
    return found;
  };
  return { env, gc: job("gc"), backup: job("backup") };
}

Deno.test("docs/kanban.crontab uses the same KANBAN_HOME as the systemd unit", () => {
  assert.equal(crontab().env["KANBAN_HOME"], environmentOf(parseUnit(UNIT))["KANBAN_HOME"]);
});

Deno.test("docs/kanban.crontab's gc line runs silently and removes an old archived task's workspace", () => {
  const { env, gc } = crontab();
  using b = binaryHome();
  const cronEnv = { ...env, KANBAN_HOME: b.home };
  b.json(["init"]);
  const old = b.json<{ id: string }>(["create", "old"]);
  const fresh = b.json<{ id: string }>(["create", "fresh"]);
  const scratch = (id: string) => join(b.home, "workspaces", "default", "scratch", id);
  for (const t of [old, fresh]) {
    mkdirSync(scratch(t.id), { recursive: true });
    b.json(["archive", t.id]);
  }
  {
    // Archived 31 days ago.
    const db = new DatabaseSync(join(b.home, "boards", "default", "board.db"));
    db.prepare("UPDATE tasks SET updated_at = updated_at - ? WHERE id = ?").run(31 * DAY, old.id);
    db.close();
  }
  const r = cronRun(gc.command, cronEnv, b.home);
  assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
  assert.equal(existsSync(scratch(old.id)), false);
  assert.ok(existsSync(scratch(fresh.id)));
});

Deno.test("docs/kanban.crontab's backup line writes today's backup and drops ones over 14 days", () => {
  const { env, backup } = crontab();
  using b = binaryHome();
  const cronEnv = { ...env, KANBAN_HOME: b.home };
  b.json(["init"]);
  for (let i = 0; i < 3; i++) b.json(["create", `task ${i}`]);
  const dir = join(b.home, "backups");
  mkdirSync(dir);
  const aged = (name: string, days: number) => {
    const path = join(dir, name);
    writeFileSync(path, "old backup");
    const t = new Date(Date.now() - days * DAY);
    utimesSync(path, t, t);
  };
  aged("board-2000-01-01.db", 20);
  aged("board-2000-01-20.db", 3);

  const r = cronRun(backup.command, cronEnv, b.home);
  assert.deepEqual(r, { code: 0, stdout: "", stderr: "" });
  const files = readdirSync(dir).sort();
  const today = files.filter((f) => !f.startsWith("board-2000-"));
  assert.equal(today.length, 1, files.join(", "));
  assert.match(today[0]!, /^board-\d{4}-\d{2}-\d{2}\.db$/);
  assert.deepEqual(files.filter((f) => f.startsWith("board-2000-")), ["board-2000-01-20.db"]);
  const db = new DatabaseSync(join(dir, today[0]!), { readOnly: true });
  try {
    assert.equal(Object.values(db.prepare("PRAGMA integrity_check").get()!)[0], "ok");
    assert.equal(Object.values(db.prepare("SELECT count(*) FROM tasks").get()!)[0], 3);
  } finally {
    db.close();
  }
  // Twice on one day: the second run refuses to overwrite, and says so (cron mails it).
  const again = cronRun(backup.command, cronEnv, b.home);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /the file exists/);
});

Deno.test("docs/operations.md quotes the unit file and the crontab exactly", () => {
  const page = read("operations.md");
  assert.ok(page.includes("```ini\n" + UNIT + "```\n"), "the unit in operations.md differs");
  assert.ok(page.includes("```crontab\n" + CRONTAB + "```\n"), "the crontab differs");
});
