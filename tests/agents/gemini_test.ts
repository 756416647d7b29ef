/**
 * The gemini preset against the real Gemini CLI: a task runs through `kanban dispatch` with
 * `gemini -p` talking to the scripted model server's Gemini API, by the shell tool and by
 * kanban's MCP server.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { explain, runTask, type TierCli, type TierResult, writeJson } from "./_tier.ts";
import { geminiApi } from "./model/gemini.ts";
import { FIGURES, mcpTool, WORKER_TOOLS } from "./model/script.ts";

const SUMMARY = "S: wrote the report";
const METADATA = { report: "out/report.md", pages: 3 };

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
 * The usage Gemini CLI's accounting gives: FIGURES for every reply the server sent with
 * usage, scripted turns and side calls alike (Gemini reports no cache writes).
 */
function expectedUsage(r: TierResult) {
  const replies = r.server.requests.filter((q) => /:(stream)?[gG]enerateContent$/.test(q.path));
  const n = replies.length;
  return {
    input_tokens: n * FIGURES.input,
    output_tokens: n * FIGURES.output,
    cache_read_tokens: n * FIGURES.cache_read,
    cache_write_tokens: 0,
    reasoning_tokens: n * FIGURES.reasoning,
    models: [...new Set(replies.map((q) => q.path.split("/").pop()!.split(":")[0]!))].sort(),
    source: "output",
  };
}

/** assertCompleted checks the task, its run's outcome and usage, and the pushed prompt. */
function assertCompleted(r: TierResult): void {
  const why = explain(r);
  assert.equal(r.task.status, "done", why);
  const run = r.runs[0]!;
  assert.equal(run.outcome, "completed", why);
  assert.equal(run.summary, SUMMARY, why);
  assert.deepEqual(run.metadata, METADATA, why);
  const first = r.server.turns()[0]?.turn;
  assert.ok(first?.prompt.includes(`# Task ${r.task.id}`), why);
  assert.ok(first?.prompt.includes("## How to work on this task"), why);
  const usage = run.usage ? { ...run.usage, models: [...run.usage.models].sort() } : null;
  assert.deepEqual(usage, expectedUsage(r), why);
  assert.ok(first && usage?.models.includes(first.model), why);
  assert.equal(r.server.turns().length, 2, why);
}

Deno.test("gemini preset: a task ends done through the CLI's shell tool running kanban complete", async () => {
  await using r = await runTask(GEMINI, {
    steps: [
      { shell: `kanban complete --summary '${SUMMARY}' --metadata '${JSON.stringify(METADATA)}'` },
      { text: "Done." },
    ],
    timeoutMs: 120_000,
  });
  assertCompleted(r);
  assert.equal(r.server.turns()[0]!.reply?.kind, "tool", explain(r));
});

Deno.test({
  name: "gemini preset: with mcp = true a task ends done through kanban's MCP complete tool",
  // Gemini CLI skips a system settings file that is not root's (see the preset's launch)
  ignore: process.getuid?.() !== 0,
  fn: async () => {
    await using r = await runTask(GEMINI, {
      steps: [{ mcp: "complete", args: { summary: SUMMARY, metadata: METADATA } }, {
        text: "Done.",
      }],
      mcp: true,
      timeoutMs: 120_000,
    });
    assertCompleted(r);
    const turn = r.server.turns()[0]!;
    for (const tool of WORKER_TOOLS) {
      assert.ok(mcpTool(turn.turn!.tools, tool), `${tool} is offered: ${explain(r)}`);
    }
    assert.equal(turn.reply?.kind === "tool" && turn.reply.name, "mcp_kanban_complete", explain(r));
    // the server's env names the lease token; Gemini CLI filled it in from its own environment
    const settings = readFileSync(r.runs[0]!.log_path!.replace(/log$/, "gemini.json"), "utf8");
    assert.equal(JSON.parse(settings).mcpServers.kanban.env.KANBAN_TOKEN, "${KANBAN_TOKEN}");
  },
});
