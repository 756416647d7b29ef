/**
 * The claude-code preset against the real Claude Code CLI (agents/node_modules), talking the
 * Anthropic Messages API to the scripted model server on 127.0.0.1.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { PRESETS } from "../../lib/dispatch/presets/mod.ts";
import {
  assertHeld,
  assertTwoTurns,
  assertWorkerTools,
  explain,
  mcpComplete,
  runHeld,
  runTask,
  servedUsage,
  shellComplete,
  type TierCli,
  type TierResult,
} from "./_tier.ts";
import { anthropic, ANTHROPIC_MODEL } from "./model/anthropic.ts";

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

/** resultCost is the `total_cost_usd` of the worker log's `result` event. */
function resultCost(r: TierResult): unknown {
  const line = r.log.split("\n").find((l) => l.startsWith('{"') && l.includes('"type":"result"'));
  return line ? JSON.parse(line).total_cost_usd : undefined;
}

/**
 * assertCompleted checks a run of the standard script whose first reply called `call` (see
 * assertTwoTurns) and its usage: each reply is counted once, in the CLI's running total.
 */
function assertCompleted(r: TierResult, call: string): void {
  const { run, turns, why } = assertTwoTurns(r, call);
  const cost = resultCost(r);
  // a model Claude Code has list prices for: its cost is recorded (a guess would not be)
  assert.ok(typeof cost === "number" && cost > 0, `Claude Code prices the run\n${why}`);
  assert.deepEqual(run.usage, {
    ...servedUsage(turns.length),
    models: [ANTHROPIC_MODEL],
    turns: turns.length,
    cost_usd: cost,
  }, why);
  assert.doesNotMatch(r.dispatcher, /IS_SANDBOX/, `the profile sets it: no warning\n${why}`);
}

Deno.test("claude-code preset: a task ends done through the CLI's Bash tool running kanban complete", async () => {
  await using r = await runTask(CLAUDE, { steps: shellComplete(), timeoutMs: 120_000 });
  assertCompleted(r, "Bash");
});

Deno.test("claude-code preset: with mcp = true a task ends done through kanban's MCP complete tool", async () => {
  await using r = await runTask(CLAUDE, { steps: mcpComplete(), mcp: true, timeoutMs: 120_000 });
  assertWorkerTools(r, (t) => `mcp__kanban__${t}`);
  assertCompleted(r, "mcp__kanban__complete");
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

Deno.test("claude-code preset: a rate limit the CLI keeps retrying holds the profile, not counted as a failure", async () => {
  await using r = await runHeld(CLAUDE, { kind: "rate_limit" });
  assertHeld(r, "rate_limit");
});

Deno.test("claude-code preset: a rejected API key holds the profile until released and blocks the task", async () => {
  await using r = await runHeld(CLAUDE, { kind: "auth" });
  assertHeld(r, "auth");
});

Deno.test("claude-code preset: a credit balance too low is an exhausted quota", async () => {
  await using r = await runHeld(CLAUDE, { kind: "quota" });
  assertHeld(r, "quota");
});
