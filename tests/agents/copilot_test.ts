/**
 * The copilot preset against the real GitHub Copilot CLI: a task runs through the compiled
 * `kanban dispatch`, and Copilot talks to the scripted model server as a custom OpenAI
 * provider (Chat Completions), offline.
 */
import assert from "node:assert/strict";
import { dirname } from "node:path";
import { copilot } from "../../lib/dispatch/presets/copilot.ts";
import { chat, CHAT_MODEL } from "./model/chat.ts";
import { FIGURES, WORKER_TOOLS } from "./model/script.ts";
import { explain, runTask, type TierCli } from "./_tier.ts";

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

const SUMMARY = "Scripted copilot run";
const METADATA = { cli: "copilot", files: 0 };
const COMMAND = `kanban complete --summary '${SUMMARY}' --metadata '${JSON.stringify(METADATA)}'`;

/**
 * expectedUsage is what Copilot's usage file accounts for: the scripted figures of every served
 * reply (Chat Completions has no cache-write count: those tokens are plain input there), one
 * turn per reply, and the scripted model.
 */
function expectedUsage(replies: number) {
  return {
    input_tokens: replies * (FIGURES.input + FIGURES.cache_write),
    output_tokens: replies * FIGURES.output,
    cache_read_tokens: replies * FIGURES.cache_read,
    cache_write_tokens: 0,
    reasoning_tokens: replies * FIGURES.reasoning,
    models: [CHAT_MODEL],
    turns: replies,
    source: "output",
  };
}

Deno.test("copilot preset: a task ends done through the CLI's shell tool running kanban complete", async () => {
  await using r = await runTask(COPILOT, {
    steps: [{ shell: COMMAND }, { text: "Done." }],
    timeoutMs: 120_000,
  });
  const why = explain(r);
  const run = r.runs[0];
  assert.equal(r.task.status, "done", why);
  assert.equal(r.runs.length, 1, why);
  assert.equal(run?.outcome, "completed", why);
  assert.equal(run?.summary, SUMMARY, why);
  assert.deepEqual(run?.metadata, METADATA, why);
  const turns = r.server.turns();
  assert.equal(turns.length, 2, `a shell call, then the closing text\n${why}`);
  assert.equal(turns[0]?.reply?.kind, "tool", why);
  assert.equal(turns[0]?.turn?.tools.some((t) => t.name === "bash"), true, why);
  assert.match(turns[0]?.turn?.prompt ?? "", new RegExp(`# Task ${r.task.id}`), why);
  assert.match(turns[0]?.turn?.prompt ?? "", /## How to work on this task/, why);
  assert.equal(turns[1]?.turn?.toolResults.length, 1, why);
  assert.deepEqual(run?.usage, expectedUsage(turns.length), why);
  // the log ends as the shell call, the closing text and the result line (a slow first
  // start prints "Package extraction took ...ms" before them)
  const shown = r.log.split("\n").map((l) => copilot.readable!(l)).filter((l) => l !== null);
  assert.deepEqual(shown.slice(-3, -1), [`→ bash: ${COMMAND}`, "Done."], why);
  assert.match(shown.at(-1) ?? "", /^result: exit code 0 after /, why);
});

Deno.test("copilot preset: with mcp = true a task ends done through kanban's MCP complete tool", async () => {
  await using r = await runTask(COPILOT, {
    steps: [{ mcp: "complete", args: { summary: SUMMARY, metadata: METADATA } }, { text: "Done." }],
    mcp: true,
    timeoutMs: 120_000,
  });
  const why = explain(r);
  const run = r.runs[0];
  assert.equal(r.task.status, "done", why);
  assert.equal(run?.outcome, "completed", why);
  assert.equal(run?.summary, SUMMARY, why);
  assert.deepEqual(run?.metadata, METADATA, why);
  const turns = r.server.turns();
  assert.equal(turns.length, 2, `an MCP call, then the closing text\n${why}`);
  const names = turns[0]?.turn?.tools.map((t) => t.name) ?? [];
  for (const tool of WORKER_TOOLS) {
    assert.ok(names.some((n) => n.includes("kanban") && n.endsWith(tool)), `${tool}\n${why}`);
  }
  assert.equal(turns[0]?.reply?.kind, "tool", why);
  assert.match(turns[0]?.turn?.prompt ?? "", new RegExp(`# Task ${r.task.id}`), why);
  assert.match(turns[0]?.turn?.prompt ?? "", /## How to work on this task/, why);
  assert.deepEqual(run?.usage, expectedUsage(turns.length), why);
});

Deno.test("copilot preset: the CLI's shell tool finds the run's kanban first on PATH", async () => {
  await using r = await runTask(COPILOT, {
    steps: [{ shell: 'echo "$KANBAN_BIN|$PATH"' }, { shell: COMMAND }, { text: "Done." }],
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
