/**
 * The copilot preset's reading of Copilot CLI 1.0.102 JSON output, fed with lines captured
 * from real runs (fixtures/copilot.jsonl, in three groups that each end with the run's
 * `result` line): a run whose shell tool ran `kanban complete`; a run with kanban's MCP
 * server whose `complete` call failed, then a shell call and text; and failures (an MCP
 * server that exited before its handshake, from another run, then a provider that refused
 * connections). fixtures/copilot-usage.json is the file `--usage-output-file` wrote for the first.
 */
import assert from "node:assert/strict";
import { copilot } from "../../../lib/dispatch/presets/copilot.ts";
import { lastWords } from "../../../lib/dispatch/output.ts";
import { fixture, fixtureLines, launchContext } from "./_fixtures.ts";

const LINES = fixtureLines("copilot").filter((l) => l !== "");

/** The fixture's runs: each ends with its `result` line. */
const [SHELL, MCP, FAILED] = LINES.reduce<string[][]>((runs, line) => {
  runs.at(-1)!.push(line);
  if (JSON.parse(line).type === "result") runs.push([]);
  return runs;
}, [[]]) as [string[], string[], string[]];

/** The usage file of the shell run: two replies of the scripted Chat Completions figures. */
const USAGE_FILE = fixture("copilot-usage.json");
const withFile = (text: string | null) => (name: string) =>
  name === "copilot-usage.json" ? text : null;
const usage = (lines: readonly string[], file: string | null = USAGE_FILE) =>
  copilot.usage!(lines, withFile(file));
const readable = (line: string) => copilot.readable!(line);
const ofType = (lines: string[], type: string) => lines.filter((l) => JSON.parse(l).type === type);

Deno.test("copilot usage(): the usage file's tokens per model, in kanban's kinds, and the replies as turns", () => {
  assert.deepEqual(usage(SHELL), {
    // inputTokens 3080 counts the 600 read from the cache
    input_tokens: 2480,
    output_tokens: 160,
    cache_read_tokens: 600,
    cache_write_tokens: 0,
    reasoning_tokens: 32,
    models: ["scripted-chat"],
    turns: 2,
    source: "output",
  });
  assert.equal(usage(MCP)?.turns, 3, "a failed tool call's reply counts too");
  assert.equal(usage([])?.turns, 2, "without replies in the output, the file's request count");
});

Deno.test("copilot usage(): no usage file (a run that ended before Copilot wrote it), no usage", () => {
  assert.equal(usage(SHELL, null), null, "the JSON output has no token counts to fall back on");
  assert.equal(usage(FAILED, null), null);
  assert.equal(copilot.usage!(SHELL), null, "no run files at all");
});

Deno.test("copilot usage(): a reply split into chunks counts once", () => {
  const [first, second] = ofType(SHELL, "assistant.message").map((l) => JSON.parse(l));
  const chunk = (o: { data: Record<string, unknown> }, i: number) =>
    JSON.stringify({ ...o, data: { ...o.data, chunkIndex: i, chunkCount: 2 } });
  assert.equal(usage([chunk(first, 0), chunk(first, 1), JSON.stringify(second)])?.turns, 2);
});

Deno.test("copilot usage(): a malformed usage file gives no usage or partial figures, never a throw", () => {
  for (const text of ["", "{", "[1,2]", "null", '{"modelMetrics":"many"}', '{"modelMetrics":{}}']) {
    assert.equal(usage(SHELL, text), null, text);
  }
  const odd = JSON.stringify({
    modelMetrics: {
      good: { usage: { inputTokens: 10, outputTokens: 4, reasoningTokens: 9 } },
      bad: { usage: { inputTokens: "10", outputTokens: -4, cacheReadTokens: 1.5 } },
      none: null,
    },
  });
  const u = usage([], odd)!;
  assert.equal(u.input_tokens, 10);
  assert.equal(u.output_tokens, 4);
  assert.equal(u.reasoning_tokens, 4, "reasoning is part of output, never more");
  assert.deepEqual(u.models, ["good", "bad", "none"]);
});

Deno.test("copilot usage(): malformed replies count as they can, never a throw", () => {
  const message = ofType(SHELL, "assistant.message")[0]!;
  assert.equal(
    usage([message, message.slice(0, 90), "{}", '{"type":5}'])?.turns,
    1,
    "a truncated line is no reply",
  );
  const odd = [
    '{"type":"assistant.message","data":{"model":42,"chunkIndex":"1"}}',
    '{"type":"assistant.message","data":"text"}',
    '{"type":"assistant.message","data":{"model":["x"],"chunkIndex":null}}',
    '{"type":"assistant.message"}',
  ];
  assert.equal(usage(odd)?.turns, 4, "each is a reply");
});

Deno.test("copilot readable(): tool calls, assistant text and the result are shown, events are not", () => {
  const shown = SHELL.map(readable).filter((l) => l !== null);
  assert.deepEqual(shown, [
    `→ bash: kanban complete --summary 'Scripted copilot run' --metadata '{"cli":"copilot","files":0}'`,
    "Done.",
    "result: exit code 0 after 2.2s",
  ]);
  const mcp = MCP.map(readable).filter((l) => l !== null);
  assert.equal(mcp[0], `→ kanban-complete: {"metadata":"x"}`);
  assert.match(mcp[1]!, /^tool failed: MCP server 'kanban': .*invalid_input/);
  assert.equal(mcp[2], "→ bash: false; echo $?");
  assert.equal(mcp[3], "Giving up.");
});

Deno.test("copilot readable(): failures say what failed", () => {
  const shown = FAILED.map(readable).filter((l) => l !== null);
  assert.deepEqual(shown, [
    "MCP server probe failed: MCP server process exited before completing the MCP initialize " +
    "handshake (exit code 0)",
    "info: Response was interrupted due to a server error. Retrying...",
    "error: Could not connect to local model provider at http://127.0.0.1:9/v1. Check that the " +
    "service is running and the port is correct.",
    "result: exit code 1 after 24.4s",
  ]);
  // what a failed run's error quotes
  assert.equal(
    lastWords(FAILED, copilot)?.split(" | ").at(-1),
    "result: exit code 1 after 24.4s",
  );
});

Deno.test("copilot readable(): plain text is shown as is, malformed events never throw", () => {
  const said =
    "Offline mode requires a local model provider. Set COPILOT_PROVIDER_BASE_URL to configure one.";
  assert.equal(readable(said), said);
  // printed on stderr when the first start of a fresh HOME unpacks the CLI slowly
  assert.equal(readable("Package extraction took 5694ms"), "Package extraction took 5694ms");
  assert.equal(readable(""), null);
  assert.equal(readable("   "), null);
  const truncated = ofType(SHELL, "assistant.message")[0]!.slice(0, 60);
  assert.equal(readable(truncated), truncated, "not an event: shown as written");
  assert.equal(
    readable('{"type":"assistant.message","data":{"content":5,"toolRequests":"x"}}'),
    null,
  );
  assert.equal(readable('{"type":"assistant.message","data":{"toolRequests":[{"name":1}]}}'), null);
  assert.equal(readable('{"type":"session.error","data":null}'), "error: (no message)");
  assert.equal(readable('{"type":"result","exitCode":1,"usage":"none"}'), "result: exit code 1");
  assert.equal(
    readable('{"type":"tool.execution_complete","data":{"success":false}}'),
    "tool failed: (no message)",
  );
  assert.equal(readable('{"type":"assistant.message","data":{"content":"a\\n\\n  b"}}'), "a b");
});

Deno.test("copilot launch(): kanban's MCP server is handed over as JSON for this session only", () => {
  const ctx = launchContext({ env: { KANBAN_TOKEN: "secret-token", PATH: "/usr/bin" } });
  // every run: the token counts go to a file of the run's own, which usage() reads
  const counts = ["--usage-output-file", ctx.runFile("copilot-usage.json")];
  assert.deepEqual(copilot.launch!({ ...ctx, mcp: false }).args, counts);
  const { args: all = [], files } = copilot.launch!(ctx);
  assert.deepEqual(all.slice(0, 2), counts);
  const args = all.slice(2);
  assert.equal(args.length, 2);
  assert.equal(args[0], "--additional-mcp-config");
  assert.deepEqual(JSON.parse(args[1]!), {
    mcpServers: {
      kanban: { type: "local", command: "/opt/kanban/bin/kanban", args: ["mcp"], tools: ["*"] },
    },
  });
  assert.equal(args[1]!.includes("secret-token"), false, "the server inherits the token instead");
  assert.equal(files, undefined);
});

Deno.test("copilot launch(): the shell keeps the worker's PATH unless the user says otherwise", () => {
  const ctx = launchContext({ env: { PATH: "/opt/kanban/bin:/usr/bin" }, mcp: false });
  assert.deepEqual(copilot.launch!(ctx).env, { COPILOT_DISABLE_LOGIN_SHELL_ENV: "1" });
  const own = { ...ctx, env: { ...ctx.env, COPILOT_DISABLE_LOGIN_SHELL_ENV: "0" } };
  assert.equal(copilot.launch!(own).env, undefined, "the profile's own value stays");
});

Deno.test("copilot check(): offline mode without a provider of its own is warned about", () => {
  assert.equal(copilot.check!({ COPILOT_OFFLINE: "true" }).length, 1);
  assert.deepEqual(
    copilot.check!({ COPILOT_OFFLINE: "true", COPILOT_PROVIDER_BASE_URL: "http://127.0.0.1:1" }),
    [],
  );
  // the CLI takes only "true": other spellings leave it online, so there is nothing to warn
  assert.deepEqual(copilot.check!({ COPILOT_OFFLINE: "1" }), []);
  assert.deepEqual(copilot.check!({}), []);
});
