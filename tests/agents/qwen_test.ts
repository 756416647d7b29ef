/**
 * The qwen preset against the real Qwen Code CLI: a task runs through `kanban dispatch` with
 * Qwen Code talking to the scripted model server over Chat Completions, configured by the
 * OPENAI_* variables alone (no settings file).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  assertHandedOff,
  assertHeld,
  assertTwoTurns,
  assertWorkerTools,
  chatUsage,
  mcpComplete,
  runHeld,
  runTask,
  shellComplete,
  type TierCli,
  writeJson,
} from "./_tier.ts";
import { chat } from "./model/chat.ts";

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

/**
 * usageOf is Qwen Code's accounting of `replies` scripted replies: its `result` counts prompt
 * tokens with cache reads included (the preset takes them out) and completion tokens with
 * reasoning included, but no reasoning count; over Chat Completions.
 */
function usageOf(replies: number) {
  const { reasoning_tokens: _, ...usage } = chatUsage(replies);
  return { ...usage, models: [MODEL], turns: replies };
}

Deno.test("qwen preset: a task ends done through Qwen Code's shell tool running kanban complete", async () => {
  await using r = await runTask(QWEN, { steps: shellComplete(), timeoutMs: 120_000 });
  const { run, turns, why } = assertTwoTurns(r, "run_shell_command");
  assert.deepEqual(run.usage, usageOf(turns.length), why);
});

Deno.test("qwen preset: with mcp = true a task ends done through kanban's MCP complete tool", async () => {
  await using r = await runTask(QWEN, { steps: mcpComplete(), mcp: true, timeoutMs: 120_000 });
  const { run, turns, why } = assertTwoTurns(r, "mcp__kanban__complete");
  assert.deepEqual(run.usage, usageOf(turns.length), why);
  // alwaysLoadTools: declared up front, not behind Qwen Code's tool_search bridge
  assertWorkerTools(r, (t) => `mcp__kanban__${t}`);
});

Deno.test("qwen preset: with folder trust turned on, the run trusts its workspace (keeping the user's trusted folders) and the task ends done", async () => {
  await using r = await runTask(QWEN_TRUSTING, { steps: shellComplete(), timeoutMs: 120_000 });
  // untrusted, Qwen Code drops --yolo and offers no shell tool: the run would end no_report
  const { run, why } = assertHandedOff(r);
  const file = run.log_path!.replace(/\.log$/, ".qwen-trusted-folders.json");
  assert.deepEqual(JSON.parse(readFileSync(file, "utf8")), {
    [THEIR_FOLDER]: "TRUST_FOLDER",
    [run.workspace!]: "TRUST_FOLDER",
  }, why);
});

Deno.test("qwen preset: a 429 the CLI keeps retrying holds the profile until the API's 'try again in'", async () => {
  // Qwen Code's client first retries silently; its own retry notice comes about a minute in
  await using r = await runHeld(QWEN, { kind: "rate_limit", retryAfterS: 2 }, { lingerMs: 0 });
  assertHeld(r, "rate_limit", 2);
});

Deno.test("qwen preset: a rejected API key holds the profile until released and blocks the task", async () => {
  await using r = await runHeld(QWEN, { kind: "auth" });
  assertHeld(r, "auth");
});
