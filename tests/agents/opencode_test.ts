/**
 * The opencode preset against the real `opencode` CLI: a task runs through `kanban dispatch`
 * with opencode talking to the scripted model server through its bundled
 * `@ai-sdk/openai-compatible` provider (Chat Completions).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
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
import { FIGURES } from "./model/script.ts";

const MODEL = "scripted-oc";

/**
 * The opencode CLI as the tier runs it. Its config (~/.config/opencode/opencode.json) declares
 * a provider for the model server and makes its model the default; the models.dev fetch is
 * off (network). opencode installs `@opencode-ai/plugin` into its config folder in the
 * background unless the folder has node_modules and a lockfile that lists it: both are
 * seeded so that no run reaches the npm registry.
 */
const OPENCODE: TierCli = {
  preset: "opencode",
  apis: [chat],
  configure(home, url) {
    const dir = join(home, ".config", "opencode");
    writeJson(join(dir, "opencode.json"), {
      $schema: "https://opencode.ai/config.json",
      provider: {
        scripted: {
          npm: "@ai-sdk/openai-compatible",
          name: "Scripted",
          options: { baseURL: `${url}/v1`, apiKey: "test-key" },
          models: { [MODEL]: { name: "Scripted model" } },
        },
      },
      model: `scripted/${MODEL}`,
    });
    mkdirSync(join(dir, "node_modules"), { recursive: true });
    writeFileSync(
      join(dir, "package-lock.json"),
      JSON.stringify({ packages: { "": { dependencies: { "@opencode-ai/plugin": "*" } } } }),
    );
    return { OPENCODE_DISABLE_MODELS_FETCH: "1" };
  },
};

/**
 * usageOf is opencode's accounting of `replies` scripted replies: per reply its step_finish
 * says input = prompt - cached, output = completion - reasoning (the preset adds the reasoning
 * back), cache reads = cached, over Chat Completions.
 */
function usageOf(replies: number) {
  return { ...chatUsage(replies), models: [MODEL], turns: replies };
}

Deno.test("opencode preset: a task ends done through opencode's bash tool running kanban complete", async () => {
  await using r = await runTask(OPENCODE, { steps: shellComplete(), timeoutMs: 120_000 });
  // --title spares the title request: every request is a step of the task's session
  const { run, turns, why } = assertTwoTurns(r, "bash");
  // opencode prices only models in its table: a scripted model costs "0", recorded as unknown
  assert.deepEqual(run.usage, usageOf(turns.length), why);
  // the prompt arrives as the dispatcher wrote it: on the command line, `run` escaped its
  // double quotes (`'{\"key\": \"value\"}'`), which a model copies into invalid JSON
  const prompt = turns[0]!.turn!.prompt;
  const pushed = readFileSync(run.log_path!.replace(/\.log$/, ".prompt.md"), "utf8");
  assert.ok(prompt.includes(pushed.trim()), why);
  assert.ok(prompt.includes(`--metadata '{"key": "value"}'`), why);
});

Deno.test("opencode preset: with mcp = true a task ends done through kanban's MCP complete tool", async () => {
  await using r = await runTask(OPENCODE, { steps: mcpComplete(), mcp: true, timeoutMs: 120_000 });
  const { run, turns, why } = assertTwoTurns(r, "kanban_complete");
  assert.deepEqual(run.usage, usageOf(turns.length), why);
  assertWorkerTools(r, (t) => `kanban_${t}`);
});

Deno.test("opencode preset: a user's OPENCODE_CONFIG_CONTENT (a model price) is kept beside kanban's MCP server, the cost opencode reports is recorded, and --auto lets a step leave the workspace", async () => {
  // per million tokens; opencode prices reasoning tokens as output
  const price = { input: 3, output: 15, cache_read: 0.3, cache_write: 3.75 };
  const theirs = JSON.stringify({
    provider: { scripted: { models: { [MODEL]: { cost: price } } } },
  });
  await using r = await runTask(OPENCODE, {
    // outside the workspace: opencode's run rejects this unless told --auto
    steps: mcpComplete({ shell: "cd .. && pwd" }),
    mcp: true,
    profile: `env = { OPENCODE_CONFIG_CONTENT = ${JSON.stringify(theirs)} }`,
    timeoutMs: 120_000,
  });
  const { run, turns, why } = assertHandedOff(r);
  assert.equal(turns.length, 3, why);
  assert.equal(turns[1]!.turn!.toolResults[0]?.trim(), dirname(run.workspace!), why);
  const { cost_usd, ...tokens } = run.usage ?? {};
  assert.deepEqual(tokens, usageOf(turns.length), why);
  const perReply = ((FIGURES.input + FIGURES.cache_write) * price.input +
    FIGURES.output * price.output + FIGURES.cache_read * price.cache_read) / 1e6;
  assert.ok(cost_usd !== undefined && Math.abs(cost_usd - turns.length * perReply) < 1e-12, why);
});

Deno.test("opencode preset: a 429 holds the profile until the reset the API gave, not counted as a failure", async () => {
  // the API's "try again in 2s" is the reset the CLI passes on
  await using r = await runHeld(OPENCODE, { kind: "rate_limit", retryAfterS: 2 }, { lingerMs: 0 });
  assertHeld(r, "rate_limit", 2);
});

Deno.test("opencode preset: a rejected API key holds the profile until released and blocks the task", async () => {
  await using r = await runHeld(OPENCODE, { kind: "auth" });
  assertHeld(r, "auth");
});
