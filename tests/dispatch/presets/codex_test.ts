/**
 * The codex preset's reading of `codex exec --json` output, fed with real lines from Codex
 * 0.171.0's worker logs (fixtures/codex.jsonl: a shell run, an MCP run, the failures the tier
 * met while the preset was wrong, and a refused model request), and what `launch()` adds.
 */
import assert from "node:assert/strict";
import { codex } from "../../../lib/dispatch/presets/codex.ts";
import { type LaunchContext, WORKER_ENV } from "../../../lib/dispatch/presets/preset.ts";
import { fixtureLines, launchContext } from "./_fixtures.ts";

const LINES = fixtureLines("codex");

/** line finds the fixture's `n`th line (from 0) that contains every one of `parts`. */
function line(parts: string[], n = 0): string {
  const found = LINES.filter((l) => parts.every((p) => l.includes(p)));
  assert.ok(found[n] !== undefined, `no line ${n} with ${parts.join(", ")}`);
  return found[n]!;
}

const usage = (lines: string[]) => codex.usage!(lines);
const readable = (l: string) => codex.readable!(l);

Deno.test("codex usage: turn.completed's figures in kanban's non-overlapping kinds, no model, no cost", () => {
  assert.deepEqual(usage(LINES), {
    // 3080 input tokens in all, of which 600 were read from the cache and 80 written to it
    input_tokens: 2400,
    cache_read_tokens: 600,
    cache_write_tokens: 80,
    output_tokens: 160,
    reasoning_tokens: 32,
    models: [],
    source: "output",
  });
});

Deno.test("codex usage: a later turn.completed is the thread's running total, so the last one counts, not the sum", () => {
  const first = line(['"turn.completed"']);
  const later = first.replace('"input_tokens":3080', '"input_tokens":6160')
    .replace('"output_tokens":160', '"output_tokens":320');
  const u = usage([first, later]);
  assert.equal(u?.input_tokens, 6160 - 600 - 80);
  assert.equal(u?.output_tokens, 320);
});

Deno.test("codex usage: a run without turn.completed (a failed turn, nothing, empty lines) has none", () => {
  assert.equal(usage(LINES.filter((l) => !l.includes('"turn.completed"'))), null);
  assert.equal(usage([line(['"turn.failed"'])]), null);
  assert.equal(usage([]), null);
  assert.equal(usage(["", "   "]), null);
});

Deno.test("codex usage: malformed turn.completed lines give no usage or partial figures, never throw", () => {
  const whole = line(['"turn.completed"']);
  assert.equal(usage([whole.slice(0, whole.length - 5)]), null, "truncated JSON");
  assert.equal(usage(['{"type":"turn.completed"}']), null, "no usage");
  assert.equal(usage(['{"type":"turn.completed","usage":null}']), null);
  assert.equal(usage(['{"type":"turn.completed","usage":[1,2]}']), null);
  assert.equal(usage(['{"type":"turn.completed","usage":"3080"}']), null);
  assert.equal(usage(["[1,2,3]", "null", '"turn.completed"']), null);
  const wrong = usage([
    '{"type":"turn.completed","usage":{"input_tokens":"3080","cached_input_tokens":-5,' +
    '"output_tokens":1.5,"reasoning_output_tokens":"32"}}',
  ]);
  assert.deepEqual(wrong, {
    input_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    output_tokens: 0,
    models: [],
    source: "output",
  });
  // more cached than input in all: no negative fresh input
  const odd = usage([
    '{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":50}}',
  ]);
  assert.equal(odd?.input_tokens, 0);
  assert.equal(odd?.cache_read_tokens, 50);
  assert.equal(odd?.reasoning_tokens, undefined, "no reasoning figure: none reported");
});

Deno.test("codex readable: tool calls, failures, the answer and a final result line; noise hidden", () => {
  assert.equal(readable(line(["Reading additional input from stdin"])), null);
  assert.equal(readable(line(['"thread.started"'])), null);
  assert.equal(readable(line(['"turn.started"'])), null);
  assert.equal(
    readable(line(['"item.started"', '"command_execution"'])),
    `→ shell: /bin/bash -c "kanban complete --summary 'Scripted summary.' --metadata ` +
      `'{\\"answer\\":42,\\"path\\":\\"out.txt\\"}'"`,
  );
  assert.equal(
    readable(line(['"item.completed"', '"command_execution"', '"exit_code":0'])),
    null,
    "a command that worked adds nothing",
  );
  assert.equal(
    readable(line(['"item.completed"', '"command_execution"', '"exit_code":127'])),
    "shell exited 127: /bin/bash: line 1: kanban: command not found",
  );
  assert.equal(
    readable(line(['"item.started"', '"mcp_tool_call"'])),
    '→ kanban.complete: {"summary":"Scripted summary.","metadata":{"answer":42,"path":"out.txt"}}',
  );
  assert.equal(readable(line(['"item.completed"', '"mcp_tool_call"', '"completed"}}'])), null);
  assert.equal(
    readable(line(['"item.completed"', '"mcp_tool_call"', '"failed"'])),
    "kanban.complete failed: MCP tool call requires approval, but approval policy is never",
  );
  assert.equal(readable(line(['"agent_message"'])), "Done.");
  assert.equal(
    readable(line(['"type":"error","message":"Model metadata'])),
    "error: Model metadata for `scripted-responses` not found. Defaulting to fallback " +
      "metadata; this can degrade performance and cause issues.",
  );
  assert.equal(
    readable(line(['"turn.completed"'])),
    "result: done (2400 input, 600 cache read, 160 output tokens)",
  );
  assert.equal(readable(line(['{"type":"error"'])), "error: scripted refusal");
  assert.equal(readable(line(['"turn.failed"'])), "result: failed: scripted refusal");
  const plain = line(["ERROR codex_core"]);
  assert.equal(readable(plain), plain, "a plain line (Codex's own log) is shown as it is");
});

Deno.test("codex readable: malformed events give null or a short line, never throw", () => {
  for (
    const l of [
      "",
      "{",
      '{"type":"item.started"}',
      '{"type":"item.completed","item":null}',
      '{"type":"item.completed","item":{"type":"command_execution","exit_code":"x"}}',
      '{"type":"item.completed","item":{"type":"file_change","changes":"a"}}',
      '{"type":"item.started","item":{"type":"mcp_tool_call","arguments":null}}',
      '{"type":"turn.failed","error":7}',
      '{"type":"error","message":{"nested":true}}',
      '{"type":42}',
    ]
  ) {
    const r = readable(l);
    assert.ok(r === null || (typeof r === "string" && r.length <= 300), `${l} -> ${r}`);
  }
  assert.equal(
    readable('{"type":"item.completed","item":{"type":"command_execution","exit_code":"x"}}'),
    "shell failed: ",
  );
  const long = readable(
    JSON.stringify({
      type: "item.completed",
      item: { type: "agent_message", text: "x".repeat(900) },
    }),
  );
  assert.equal(long?.length, 200, "long text is clipped");
});

/** context is a LaunchContext for a board at /boards/main/board.db. */
function context(mcp: boolean, args: string[] = []): LaunchContext {
  const env = { HOME: "/home/u", KANBAN_TOKEN: "secret-token" };
  return launchContext({ board: "/boards/main/board.db", env, args, mcp });
}

Deno.test("codex launch: the board's folder joins the sandbox's writable roots with --add-dir, whatever the user's roots", () => {
  const mine = ["-c", 'sandbox_workspace_write.writable_roots=["/mine"]'];
  for (const args of [[], mine]) {
    const added = codex.launch!(context(false, args));
    assert.deepEqual(added.args, ["--add-dir", "/boards/main"]);
    // a writable_roots of ours would replace the user's (the last -c for a key wins)
    assert.ok(!added.args!.some((a) => a.includes("writable_roots")));
  }
});

Deno.test("codex launch: with mcp, kanban's server with the worker's variables and approved tools, no token on the line", () => {
  const added = codex.launch!(context(true));
  const sets = added.args!.filter((_, i) => added.args![i - 1] === "-c");
  assert.deepEqual(sets, [
    'mcp_servers.kanban.command="/opt/kanban/bin/kanban"',
    'mcp_servers.kanban.args=["mcp"]',
    `mcp_servers.kanban.env_vars=${JSON.stringify(WORKER_ENV)}`,
    'mcp_servers.kanban.default_tools_approval_mode="approve"',
  ]);
  assert.deepEqual(added.args!.slice(0, 2), ["--add-dir", "/boards/main"]);
  assert.ok(!added.args!.some((a) => a.includes("secret-token")));
  assert.equal(added.env, undefined);
});

Deno.test("codex argv: the sandbox is set as config, so a profile's own --sandbox is not a second flag", () => {
  assert.ok(!codex.argv.includes("--sandbox") && !codex.argv.includes("-s"));
  assert.ok(codex.argv.includes('sandbox_mode="workspace-write"'));
  assert.ok(codex.argv.includes("allow_login_shell=false"));
  assert.ok(codex.argv.includes("--json"));
});
