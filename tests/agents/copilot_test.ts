/**
 * The copilot preset against the real GitHub Copilot CLI: a task runs through the compiled
 * `kanban dispatch`, and Copilot talks to the scripted model server as a custom OpenAI
 * provider (Chat Completions), offline.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { copilot } from "../../lib/dispatch/presets/copilot.ts";
import { chat, CHAT_MODEL } from "./model/chat.ts";
import {
  assertHeld,
  assertTwoTurns,
  assertWorkerTools,
  chatUsage,
  COMPLETE,
  explain,
  mcpComplete,
  runHeld,
  runTask,
  shellComplete,
  type TierCli,
} from "./_tier.ts";

const COPILOT: TierCli = {
  preset: "copilot",
  apis: [chat],
  configure: (_home, url) => ({
    // BYOK: this endpoint instead of GitHub's model routing (no GitHub login needed);
    // the provider type defaults to "openai" and its wire API to Chat Completions
    COPILOT_PROVIDER_BASE_URL: `${url}/v1`,
    COPILOT_PROVIDER_API_KEY: "tier-key",
    COPILOT_MODEL: CHAT_MODEL,
    // no network but the provider: no GitHub auth, telemetry, web tools, GitHub MCP server
    // or auto-update (without it, each run here waits a minute on api.github.com)
    COPILOT_OFFLINE: "true",
  }),
};

/**
 * usageOf is what Copilot's usage file accounts for: the scripted figures of every served reply
 * (over Chat Completions), one turn per reply, and the scripted model.
 */
function usageOf(replies: number) {
  return { ...chatUsage(replies), models: [CHAT_MODEL], turns: replies };
}

Deno.test("copilot preset: a task ends done through the CLI's shell tool running kanban complete", async () => {
  await using r = await runTask(COPILOT, { steps: shellComplete(), timeoutMs: 120_000 });
  const { run, turns, why } = assertTwoTurns(r, "bash");
  assert.deepEqual(run.usage, usageOf(turns.length), why);
  assert.equal(r.runs.length, 1, why);
  assert.equal(turns[1]?.turn?.toolResults.length, 1, why);
  // the log ends as the shell call, the closing text and the result line (a slow first
  // start prints "Package extraction took ...ms" before them)
  const shown = r.log.split("\n").map((l) => copilot.readable!(l)).filter((l) => l !== null);
  assert.deepEqual(shown.slice(-3, -1), [`→ bash: ${COMPLETE}`, "Done."], why);
  assert.match(shown.at(-1) ?? "", /^result: exit code 0 after /, why);
});

Deno.test("copilot preset: with mcp = true a task ends done through kanban's MCP complete tool", async () => {
  await using r = await runTask(COPILOT, { steps: mcpComplete(), mcp: true, timeoutMs: 120_000 });
  const { run, turns, why } = assertTwoTurns(r, "kanban-complete");
  assert.deepEqual(run.usage, usageOf(turns.length), why);
  assertWorkerTools(r, (t) => `kanban-${t}`);
});

Deno.test("copilot preset: the CLI's shell tool finds the run's kanban first on PATH", async () => {
  await using r = await runTask(COPILOT, {
    steps: shellComplete({ shell: 'echo "$KANBAN_BIN|$PATH"' }),
    timeoutMs: 120_000,
  });
  const why = explain(r);
  assert.equal(r.task.status, "done", why);
  const said = r.server.turns()[1]?.turn?.toolResults[0] ?? "";
  const [bin = "", path = ""] = said.split("\n")[0]!.split("|");
  assert.ok(bin.endsWith("/kanban"), why);
  // Copilot would put the login shell's /usr/local/bin (and more) first; launch() says not to
  assert.equal(path.split(":")[0], dirname(bin), `${said}\n${why}`);
});

Deno.test("copilot preset: a 429 holds the profile until the reset the API gave, not counted as a failure", async () => {
  // the API's "try again in 2s" is the reset the CLI passes on
  await using r = await runHeld(COPILOT, { kind: "rate_limit", retryAfterS: 2 }, { lingerMs: 0 });
  assertHeld(r, "rate_limit", 2);
});

Deno.test("copilot preset: a rejected API key holds the profile until released and blocks the task", async () => {
  await using r = await runHeld(COPILOT, { kind: "auth" });
  assertHeld(r, "auth");
});
