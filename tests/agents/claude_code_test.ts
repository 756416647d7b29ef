/**
 * The claude-code preset against the real Claude Code CLI (agents/node_modules), talking the
 * Anthropic Messages API to the scripted model server on 127.0.0.1.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { PRESETS } from "../../lib/dispatch/presets/mod.ts";
import { explain, runTask, type TierCli, type TierResult } from "./_tier.ts";
import { anthropic, ANTHROPIC_MODEL } from "./model/anthropic.ts";
import { FIGURES, mcpTool, WORKER_TOOLS } from "./model/script.ts";

/**
 * CLAUDE points Claude Code at the model server: the base URL and an API key (any: the server
 * takes it), the scripted model, and no calls home. As root, Claude Code runs
 * bypassPermissions only on a machine the operator calls a sandbox, so the profile says so.
 */
const CLAUDE: TierCli = {
  preset: "claude-code",
  apis: [anthropic],
  configure: (_home, url) => ({
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: "sk-ant-scripted",
    ANTHROPIC_MODEL,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
  }),
  profile: 'env = { IS_SANDBOX = "1" }',
};

const SUMMARY = "Scripted work is done.";
const METADATA = { files: 2, branch: "scripted" };

/** replies is how many model replies Claude Code was served (every one is counted). */
function replies(r: TierResult): number {
  return r.server.requests.filter((q) => q.path.endsWith("/v1/messages") && q.reply).length;
}

/** resultCost is the `total_cost_usd` of the worker log's `result` event. */
function resultCost(r: TierResult): unknown {
  const line = r.log.split("\n").find((l) => l.startsWith('{"') && l.includes('"type":"result"'));
  return line ? JSON.parse(line).total_cost_usd : undefined;
}

/** assertCompleted checks a run that ended with the scripted complete, and its usage. */
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
  // the complete call, then "Done.": each reply is counted once, in the CLI's running total
  const n = replies(r);
  assert.equal(n, 2, why);
  const cost = resultCost(r);
  // a model Claude Code has list prices for: its cost is recorded (a guess would not be)
  assert.ok(typeof cost === "number" && cost > 0, `Claude Code prices the run\n${why}`);
  assert.deepEqual(run.usage, {
    input_tokens: n * FIGURES.input,
    output_tokens: n * FIGURES.output,
    cache_read_tokens: n * FIGURES.cache_read,
    cache_write_tokens: n * FIGURES.cache_write,
    reasoning_tokens: n * FIGURES.reasoning,
    models: [ANTHROPIC_MODEL],
    turns: n,
    cost_usd: cost,
    source: "output",
  }, why);
  assert.doesNotMatch(r.dispatcher, /IS_SANDBOX/, `the profile sets it: no warning\n${why}`);
}

Deno.test("claude-code preset: a task ends done through the CLI's Bash tool running kanban complete", async () => {
  const complete = `kanban complete --summary '${SUMMARY}' --metadata '${
    JSON.stringify(METADATA)
  }'`;
  await using r = await runTask(CLAUDE, {
    steps: [{ shell: complete }, { text: "Done." }],
    timeoutMs: 120_000,
  });
  assertCompleted(r);
  const call = r.server.turns()[0]?.reply;
  assert.equal(call?.kind === "tool" ? call.name : call?.kind, "Bash", explain(r));
});

Deno.test("claude-code preset: with mcp = true a task ends done through kanban's MCP complete tool", async () => {
  await using r = await runTask(CLAUDE, {
    steps: [{ mcp: "complete", args: { summary: SUMMARY, metadata: METADATA } }, { text: "Done." }],
    mcp: true,
    timeoutMs: 120_000,
  });
  const first = r.server.turns()[0]?.turn;
  for (const name of WORKER_TOOLS) {
    // the server offers the worker tools only when the worker's KANBAN_* variables reach it
    assert.ok(first && mcpTool(first.tools, name), `kanban tool ${name} is offered\n${explain(r)}`);
  }
  const call = r.server.turns()[0]?.reply;
  assert.equal(call?.kind === "tool" ? call.name : call?.kind, "mcp__kanban__complete", explain(r));
  assertCompleted(r);
});

// Claude Code's own safety check, proven as root (as CI runs): a machine kanban is not told is
// a sandbox must not get bypassPermissions. As another user the CLI has nothing to refuse, so
// this test fails there instead of passing without proving anything.
Deno.test("claude-code preset: as root without IS_SANDBOX the run crashes with the CLI's own reason and the task ends blocked", async () => {
  assert.equal(
    process.getuid?.(),
    0,
    "this test proves Claude Code's refusal as root: run it as root",
  );
  const { profile: _sandbox, ...unsandboxed } = CLAUDE;
  // the tier's dispatcher gets only the tier's environment, and so does this check
  const env = unsandboxed.configure("/nowhere", "http://127.0.0.1:9");
  assert.match(PRESETS["claude-code"].check!(env).join("\n"), /IS_SANDBOX = "1"/);
  await using r = await runTask(unsandboxed, {
    steps: [{ text: "never asked" }],
    timeoutMs: 120_000,
  });
  const why = explain(r);
  const run = r.runs[0]!;
  assert.equal(r.task.status, "blocked", why);
  assert.equal(run.outcome, "crashed", why);
  assert.match(run.error ?? "", /^exit code 1: .*root\/sudo privileges/, why);
  assert.equal(r.server.requests.length, 0, `it refuses before calling the model\n${why}`);
  assert.match(
    r.dispatcher,
    /warning: profile agent: claude-code refuses --permission-mode bypassPermissions as root/,
    `the dispatcher warned at start-up\n${why}`,
  );
});
