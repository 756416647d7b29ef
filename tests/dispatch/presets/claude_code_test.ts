/**
 * The claude-code preset's reading of Claude Code's stream-json output, fed with lines a real
 * run wrote (fixtures/claude_code.jsonl: a tier run with a failing Bash call, kanban's MCP
 * complete and "Done.", then a run whose API was unreachable, then the refusal as root).
 */
import assert from "node:assert/strict";
import { claudeCode, rootWarnings } from "../../../lib/dispatch/presets/claude_code.ts";
import { fixtureLines, launchContext } from "./_fixtures.ts";

const LINES = fixtureLines("claude_code");
const usage = claudeCode.usage!;
const readable = claudeCode.readable!;

/** The tier run's lines (up to its result) and the failed run's. */
const RUN = LINES.slice(0, 8);
const FAILED = LINES.slice(8);
const RESULT = JSON.parse(LINES[7]!);

/**
 * THREE_REPLIES is what the tier run's result counts: three replies of the scripted figures.
 * Claude Code did not know the scripted model, so it guessed the cost (`costBasis: "unknown"`):
 * the run's cost is unknown, not the guess.
 */
const THREE_REPLIES = {
  input_tokens: 3600,
  output_tokens: 240,
  cache_read_tokens: 900,
  cache_write_tokens: 120,
  reasoning_tokens: 48,
  models: ["scripted-anthropic"],
  turns: 3,
  source: "output",
};

/** listPriced is the tier run's result as Claude Code writes it for a model it has prices for. */
function listPriced(result: Record<string, unknown>): string {
  const models = result["modelUsage"] as Record<string, Record<string, unknown>>;
  return JSON.stringify({
    ...result,
    modelUsage: Object.fromEntries(
      Object.entries(models).map(([name, m]) => [name, { ...m, costBasis: "list" }]),
    ),
  });
}

Deno.test("usage() reads the result event's per-model totals, cost and turns", () => {
  assert.deepEqual(usage(RUN), THREE_REPLIES);
  assert.deepEqual(usage(LINES), THREE_REPLIES, "a later run's zeroed result erases nothing");
  assert.deepEqual(usage([listPriced(RESULT)]), {
    ...THREE_REPLIES,
    cost_usd: RESULT.total_cost_usd,
  }, "a cost at list prices is what the run cost");
});

Deno.test("usage() is null for a run that reached no model or printed no result", () => {
  assert.equal(usage(FAILED), null, "an API failure's result counts zeros");
  assert.equal(usage(RUN.slice(0, 7)), null, "the assistant events' own usage is not the total");
  assert.equal(usage([LINES.at(-2)!]), null, "the refusal as root");
  assert.equal(usage([]), null);
  assert.equal(usage(["", "   "]), null);
});

Deno.test("usage() takes the latest result: each carries the session's running total", () => {
  const half = {
    ...RESULT,
    total_cost_usd: 0.01,
    num_turns: 1,
    modelUsage: { "scripted-anthropic": { inputTokens: 1200, outputTokens: 80 } },
  };
  const u = usage([listPriced(half), LINES[7]!]);
  assert.deepEqual(u, THREE_REPLIES, "the latest counts (and its guessed cost is unknown)");
});

Deno.test("usage() adds up the models of modelUsage, and reads `usage` when there is none", () => {
  const two = {
    ...RESULT,
    modelUsage: {
      ...RESULT.modelUsage,
      "claude-haiku-4-5": { inputTokens: 10, outputTokens: 5, cacheReadInputTokens: 1 },
    },
  };
  const u = usage([JSON.stringify(two)])!;
  assert.equal(u.input_tokens, 3610);
  assert.equal(u.output_tokens, 245);
  assert.equal(u.cache_read_tokens, 901);
  assert.equal(u.reasoning_tokens, 48);
  assert.deepEqual(u.models, ["scripted-anthropic", "claude-haiku-4-5"]);
  const { modelUsage: _, ...older } = RESULT;
  // without modelUsage nothing says the cost was a guess: it is taken as reported
  const reported = { ...THREE_REPLIES, cost_usd: RESULT.total_cost_usd };
  assert.deepEqual(usage([LINES[0]!, JSON.stringify(older)]), reported, "the init's model");
  assert.deepEqual(usage([JSON.stringify(older)]), { ...reported, models: [] });
});

Deno.test("usage() never throws on malformed output: no figures or partial ones", () => {
  const line = LINES[7]!;
  assert.equal(usage([line.slice(0, line.length / 2)]), null, "truncated JSON");
  assert.equal(usage(["{", "null", "[1,2]", '"result"', "{}", '{"type":"result"}']), null);
  assert.equal(usage([JSON.stringify({ ...RESULT, modelUsage: "x", usage: [1] })]), null);
  const wrong = {
    ...RESULT,
    num_turns: "3",
    total_cost_usd: -1,
    modelUsage: {
      "scripted-anthropic": {
        inputTokens: "3600",
        outputTokens: 240.5,
        cacheReadInputTokens: -900,
        cacheCreationInputTokens: 120,
        thinkingTokens: null,
      },
      "": { inputTokens: 7 },
      "bad": null,
    },
  };
  assert.deepEqual(usage([JSON.stringify(wrong)]), {
    input_tokens: 7,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 120,
    models: ["scripted-anthropic"],
    source: "output",
  });
});

Deno.test("readable() shows the model, text, tool calls, failed tool results and the result", () => {
  assert.deepEqual(LINES.map(readable), [
    "claude-code: model scripted-anthropic, mcp: kanban connected",
    '[claude-code:unrecognized_model] {"model":"scripted-anthropic","query_source":"sdk"}',
    "→ Bash: cat /nonexistent/file",
    "tool error: Exit code 1 cat: /nonexistent/file: No such file or directory",
    '→ mcp__kanban__complete: {"summary":"S","metadata":{"n":1}}',
    null,
    "Done.",
    "result: success, 3 turns: Done.",
    "api retry 1/1: unknown",
    "API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)",
    "result: error, 1 turn: API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)",
    "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons",
    "",
  ]);
});

Deno.test("readable() never throws: malformed lines are shown as they are or hidden", () => {
  const line = LINES[2]!;
  assert.equal(readable(line.slice(0, 40)), line.slice(0, 40), "truncated JSON is plain text");
  assert.equal(readable('{"no":"type"}'), '{"no":"type"}');
  assert.equal(readable('{"type":"stream_event","event":{}}'), null);
  assert.equal(readable('{"type":"assistant"}'), null);
  assert.equal(readable('{"type":"assistant","message":{"content":"plain"}}'), "plain");
  assert.equal(
    readable('{"type":"assistant","message":{"content":[null,1,{"type":"thinking"}]}}'),
    null,
  );
  assert.equal(
    readable('{"type":"assistant","message":{"content":[{"type":"tool_use"}]}}'),
    "→ ?: {}",
  );
  assert.equal(
    readable('{"type":"user","message":{"content":[{"type":"tool_result","is_error":true}]}}'),
    "tool error: ",
  );
  assert.equal(
    readable('{"type":"result","num_turns":"x","errors":[1,"boom"],"is_error":true}'),
    "result: error (?): boom",
  );
  assert.equal(
    readable('{"type":"system","subtype":"init","mcp_servers":"x"}'),
    "claude-code: model ?",
  );
});

Deno.test("rootWarnings() warns as root unless the operator says the machine is a sandbox", () => {
  const [w] = rootWarnings({}, 0);
  assert.match(
    w!,
    /refuses --permission-mode bypassPermissions as root: .*env = \{ IS_SANDBOX = "1" \}/,
  );
  assert.match(rootWarnings({ IS_SANDBOX: "true" }, 0)[0]!, /\(IS_SANDBOX is "true"\)/);
  assert.deepEqual(rootWarnings({ IS_SANDBOX: "1" }, 0), []);
  assert.deepEqual(rootWarnings({ CLAUDE_CODE_BUBBLEWRAP: "1" }, 0), []);
  assert.deepEqual(rootWarnings({}, 1000), []);
  assert.deepEqual(rootWarnings({}, undefined), [], "no uid (Windows): nothing to refuse");
});

Deno.test("launch() hands over kanban's MCP server with its tools always loaded, and no secrets", () => {
  const env = { KANBAN_TOKEN: "secret" };
  assert.deepEqual(claudeCode.launch!(launchContext({ env, mcp: false })), { args: [] });
  const { args = [], env: added, files } = claudeCode.launch!(launchContext({ env }));
  assert.equal(args[0], "--mcp-config");
  assert.equal(args.length, 2, "the variadic option comes last, with one value");
  assert.deepEqual(JSON.parse(args[1]!), {
    mcpServers: {
      kanban: {
        type: "stdio",
        command: "/opt/kanban/bin/kanban",
        args: ["mcp"],
        alwaysLoad: true,
      },
    },
  });
  assert.doesNotMatch(args[1]!, /secret/);
  assert.equal(added, undefined);
  assert.equal(files, undefined);
});
