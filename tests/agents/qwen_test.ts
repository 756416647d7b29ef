/**
 * The qwen preset against the real Qwen Code CLI: a task runs through `kanban dispatch` with
 * Qwen Code talking to the scripted model server over Chat Completions, configured by the
 * OPENAI_* variables alone (no settings file).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { explain, runTask, type TierCli, writeJson } from "./_tier.ts";
import { chat } from "./model/chat.ts";
import { FIGURES, WORKER_TOOLS } from "./model/script.ts";

const MODEL = "scripted-qwen";

/**
 * Qwen Code as the tier runs it: its OpenAI provider pointed at the model server, and its
 * usage statistics off (they go to Alibaba Cloud by default; tests talk to 127.0.0.1 only).
 */
const QWEN: TierCli = {
  preset: "qwen",
  apis: [chat],
  configure: (_home, url) => ({
    OPENAI_BASE_URL: `${url}/v1`,
    OPENAI_API_KEY: "test-key",
    OPENAI_MODEL: MODEL,
    QWEN_USAGE_STATISTICS_ENABLED: "false",
  }),
};

/** A folder the user trusts in their own trusted-folders file. */
const THEIR_FOLDER = "/srv/their-project";

/** QWEN_TRUSTING: a user who turned folder trust on, and trusts a folder of their own. */
const QWEN_TRUSTING: TierCli = {
  ...QWEN,
  configure(home, url) {
    writeJson(join(home, ".qwen", "settings.json"), {
      security: { folderTrust: { enabled: true } },
    });
    writeJson(join(home, ".qwen", "trustedFolders.json"), { [THEIR_FOLDER]: "TRUST_FOLDER" });
    return QWEN.configure(home, url);
  },
};

const SUMMARY = "Scripted summary of the work.";
const METADATA = { files: 2, url: "https://example.test/pr/1" };

/**
 * usageOf is what Qwen Code's accounting of `replies` scripted replies gives: its `result`
 * counts prompt tokens with cache reads included (the preset takes them out) and completion
 * tokens with reasoning included, but no reasoning count; Chat Completions has no cache
 * writes, so those tokens are plain input.
 */
function usageOf(replies: number) {
  return {
    input_tokens: replies * (FIGURES.input + FIGURES.cache_write),
    output_tokens: replies * FIGURES.output,
    cache_read_tokens: replies * FIGURES.cache_read,
    cache_write_tokens: 0,
    models: [MODEL],
    turns: replies,
    source: "output",
  };
}

Deno.test("qwen preset: a task ends done through Qwen Code's shell tool running kanban complete", async () => {
  await using r = await runTask(QWEN, {
    steps: [
      {
        shell: `kanban complete --summary '${SUMMARY}' --metadata '${JSON.stringify(METADATA)}'`,
      },
      { text: "Done." },
    ],
    timeoutMs: 120_000,
  });
  const why = explain(r);
  assert.equal(r.task.status, "done", why);
  const run = r.runs[0]!;
  assert.equal(run.outcome, "completed", why);
  assert.equal(run.summary, SUMMARY, why);
  assert.deepEqual(run.metadata, METADATA, why);
  const turns = r.server.turns();
  assert.equal(turns.length, 2, why);
  assert.ok(turns[0]!.turn!.prompt.includes(`# Task ${r.task.id}`), why);
  assert.ok(turns[0]!.turn!.prompt.includes("## How to work on this task"), why);
  const reply = turns[0]!.reply!;
  assert.ok(reply.kind === "tool" && reply.name === "run_shell_command", why);
  assert.deepEqual(run.usage, usageOf(turns.length), why);
});

Deno.test("qwen preset: with mcp = true a task ends done through kanban's MCP complete tool", async () => {
  await using r = await runTask(QWEN, {
    steps: [{ mcp: "complete", args: { summary: SUMMARY, metadata: METADATA } }, { text: "Done." }],
    mcp: true,
    timeoutMs: 120_000,
  });
  const why = explain(r);
  assert.equal(r.task.status, "done", why);
  const run = r.runs[0]!;
  assert.equal(run.outcome, "completed", why);
  assert.equal(run.summary, SUMMARY, why);
  assert.deepEqual(run.metadata, METADATA, why);
  const turns = r.server.turns();
  assert.equal(turns.length, 2, why);
  const first = turns[0]!.turn!;
  assert.ok(first.prompt.includes(`# Task ${r.task.id}`), why);
  assert.ok(first.prompt.includes("## How to work on this task"), why);
  const names = first.tools.map((t) => t.name);
  // alwaysLoadTools: declared up front, not behind Qwen Code's tool_search bridge
  for (const tool of WORKER_TOOLS) assert.ok(names.includes(`mcp__kanban__${tool}`), why);
  const reply = turns[0]!.reply!;
  assert.ok(reply.kind === "tool" && reply.name === "mcp__kanban__complete", why);
  assert.deepEqual(run.usage, usageOf(turns.length), why);
});

Deno.test("qwen preset: with folder trust turned on, the run trusts its workspace (keeping the user's trusted folders) and the task ends done", async () => {
  await using r = await runTask(QWEN_TRUSTING, {
    steps: [
      {
        shell: `kanban complete --summary '${SUMMARY}' --metadata '${JSON.stringify(METADATA)}'`,
      },
      { text: "Done." },
    ],
    timeoutMs: 120_000,
  });
  const why = explain(r);
  // untrusted, Qwen Code drops --yolo and offers no shell tool: the run would end no_report
  assert.equal(r.task.status, "done", why);
  const run = r.runs[0]!;
  assert.equal(run.outcome, "completed", why);
  assert.equal(run.summary, SUMMARY, why);
  const file = run.log_path!.replace(/\.log$/, ".qwen-trusted-folders.json");
  assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), {
    [THEIR_FOLDER]: "TRUST_FOLDER",
    [run.workspace!]: "TRUST_FOLDER",
  }, why);
});
