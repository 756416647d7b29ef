/**
 * The gemini preset against the real Gemini CLI: a task runs through `kanban dispatch` with
 * `gemini -p` talking to the scripted model server's Gemini API, by the shell tool and by
 * kanban's MCP server.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  AGENTS_BIN,
  assertHeld,
  assertTwoTurns,
  assertWorkerTools,
  KANBAN,
  mcpComplete,
  runHeld,
  runTask,
  servedUsage,
  shellComplete,
  type TierCli,
  type TierResult,
  writeJson,
} from "./_tier.ts";
import { geminiApi } from "./model/gemini.ts";

const GEMINI: TierCli = {
  preset: "gemini",
  apis: [geminiApi],
  configure(home, url) {
    writeJson(join(home, ".gemini", "settings.json"), {
      // GOOGLE_GEMINI_BASE_URL alone makes Gemini CLI pick the "gateway" auth type, which
      // headless mode then rejects ("Invalid auth method selected.")
      security: { auth: { selectedType: "gemini-api-key" } },
      // nothing leaves 127.0.0.1: no usage statistics, no update check
      privacy: { usageStatisticsEnabled: false },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
    });
    return { GOOGLE_GEMINI_BASE_URL: url, GEMINI_API_KEY: "scripted-key" };
  },
  // Gemini CLI reads the run's settings file (kanban's MCP server) only if no folder above it
  // is writable by others; the system temp folder is (mode 1777)
  root: join(homedir(), ".cache", "kanban-tier"),
};

/**
 * assertCompleted checks a run of the standard script whose first reply called `call` (see
 * assertTwoTurns) and its usage: Gemini CLI's accounting, FIGURES for every reply the server
 * sent with usage, scripted turns and side calls alike (Gemini reports no cache writes).
 */
function assertCompleted(r: TierResult, call: string): void {
  const { run, turns, why } = assertTwoTurns(r, call);
  const replies = r.server.requests.filter((q) => /:(stream)?[gG]enerateContent$/.test(q.path));
  const usage = run.usage ? { ...run.usage, models: [...run.usage.models].sort() } : null;
  assert.deepEqual(usage, {
    ...servedUsage(replies.length),
    cache_write_tokens: 0,
    models: [...new Set(replies.map((q) => q.path.split("/").pop()!.split(":")[0]!))].sort(),
  }, why);
  const first = turns[0]?.turn;
  assert.ok(first && usage?.models.includes(first.model), why);
}

Deno.test("gemini preset: a task ends done through the CLI's shell tool running kanban complete", async () => {
  await using r = await runTask(GEMINI, { steps: shellComplete(), timeoutMs: 120_000 });
  assertCompleted(r, "run_shell_command");
});

const ROOT = process.getuid?.() === 0;

Deno.test({
  name:
    `gemini preset: with mcp = true (as root: the run's system settings file) a task ends done through kanban's MCP complete tool${
      ROOT ? "" : " (skipped: the test does not run as root)"
    }`,
  // Gemini CLI skips a system settings file that is not root's (see the preset's launch)
  ignore: !ROOT,
  fn: async () => {
    await using r = await runTask(GEMINI, { steps: mcpComplete(), mcp: true, timeoutMs: 120_000 });
    assertCompleted(r, "mcp_kanban_complete");
    assertWorkerTools(r, (t) => `mcp_kanban_${t}`);
    // the server's env names the lease token; Gemini CLI filled it in from its own environment
    const settings = readFileSync(r.runs[0]!.log_path!.replace(/log$/, "gemini.json"), "utf8");
    assert.equal(JSON.parse(settings).mcpServers.kanban.env.KANBAN_TOKEN, "${KANBAN_TOKEN}");
  },
});

/** NOBODY is Debian's unprivileged user, when this test can run the tier as it (as root). */
const NOBODY = { uid: 65534, gid: 65534 };

/** canRunAs tells whether `user` can run the kanban binary and Gemini CLI from here. */
function canRunAs(user: { uid: number; gid: number }): boolean {
  if (!ROOT) return false;
  const run = (cmd: string) => spawnSync(cmd, ["--version"], { ...user, timeout: 30_000 }).status;
  return run(KANBAN) === 0 && run(join(AGENTS_BIN, "gemini")) === 0;
}

const AS_NOBODY = canRunAs(NOBODY);

Deno.test({
  name:
    `gemini preset: with mcp = true under a dispatcher that is not root, a task in a scratch workspace ends done through kanban's MCP complete tool${
      AS_NOBODY ? "" : " (skipped: needs root, and the repository readable by user nobody)"
    }`,
  ignore: !AS_NOBODY,
  fn: async () => {
    // a home nobody can reach (root's is not): the system's temp folder
    const { root: _, ...inTemp } = GEMINI;
    await using r = await runTask(inTemp, {
      steps: mcpComplete(),
      mcp: true,
      timeoutMs: 120_000,
      user: NOBODY,
    });
    assertCompleted(r, "mcp_kanban_complete");
    assertWorkerTools(r, (t) => `mcp_kanban_${t}`);
    // not the run's system settings file (Gemini CLI would skip it): the workspace's settings
    const run = r.runs[0]!;
    assert.equal(existsSync(run.log_path!.replace(/log$/, "gemini.json")), false);
    const settings = readFileSync(join(run.workspace!, ".gemini", "settings.json"), "utf8");
    assert.equal(JSON.parse(settings).mcpServers.kanban.env.KANBAN_TOKEN, "${KANBAN_TOKEN}");
  },
});

Deno.test("gemini preset: RESOURCE_EXHAUSTED retried by the CLI holds the profile until the suggested retry time", async () => {
  await using r = await runHeld(GEMINI, { kind: "quota", retryAfterS: 10 });
  assertHeld(r, "quota", 10);
});

Deno.test("gemini preset: a rejected API key holds the profile until released and blocks the task", async () => {
  await using r = await runHeld(GEMINI, { kind: "auth" });
  assertHeld(r, "auth");
});
