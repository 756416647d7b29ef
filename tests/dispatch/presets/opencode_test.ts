/**
 * The opencode preset's reading of `opencode run --format json --print-logs` output and what it
 * adds to a run. fixtures/opencode.jsonl is a real run's log (opencode 1.18.33 in the real-CLI
 * tier: a bash step, kanban's MCP complete, "Done.", with a model price configured; long
 * outputs trimmed, most INFO lines dropped); the other real lines below were captured from
 * runs that failed.
 */
import assert from "node:assert/strict";
import { configWithMcp, opencode } from "../../../lib/dispatch/presets/opencode.ts";
import { fixtureLines, launchContext } from "./_fixtures.ts";

const FIXTURE = fixtureLines("opencode");

/** The last step of a run whose model has no price: opencode says cost 0. */
const UNPRICED_STEP =
  `{"type":"step_finish","timestamp":1796405191076,"sessionID":"ses_dbde83d02ffeSdtuJ4i4mIKIlm","part":{"id":"prt_24217e174001CjcqtY7V00VmwT","reason":"stop","messageID":"msg_24217e00b00103hhvggfaDvjzz","sessionID":"ses_dbde83d02ffeSdtuJ4i4mIKIlm","type":"step-finish","tokens":{"total":1620,"input":1240,"output":64,"reasoning":16,"cache":{"write":0,"read":300}},"cost":0}}`;

/** A run whose provider could not be reached (opencode retried, then gave up). */
const UNREACHABLE = [
  `timestamp=2026-12-04T17:26:26.990Z level=ERROR run=801eb4d0 message="stream error" providerID=scripted modelID=scripted-chat session.id=ses_dbde858a7ffew6aoVRL0B2uLcw small=false agent=build mode=primary error.error="AI_APICallError: Cannot connect to API: Unable to connect. Is the computer able to access the url? (cause: Error: Unable to connect. Is the computer able to access the url?)"`,
  `timestamp=2026-12-04T17:27:30.599Z level=ERROR run=801eb4d0 message=process session.id=ses_dbde858a7ffew6aoVRL0B2uLcw messageID=msg_24217bdd2001IcadhpqAQK1twE error="Cannot connect to API: Unable to connect. Is the computer able to access the url?"`,
  `{"type":"error","timestamp":1796405250626,"sessionID":"ses_dbde858a7ffew6aoVRL0B2uLcw","error":{"name":"APIError","data":{"message":"Cannot connect to API: Unable to connect. Is the computer able to access the url?","isRetryable":true,"metadata":{"url":"http://127.0.0.1:1/v1/chat/completions"}}}}`,
];

/** What `opencode run` prints when it rejects a permission ask (without --auto). */
const REJECTED =
  "\x1b[93m\x1b[1m! \x1b[0mpermission requested: external_directory (/tmp/*); auto-rejecting";

const OURS = { type: "local", command: ["/opt/kanban/bin/kanban", "mcp"], enabled: true };

Deno.test("opencode usage(): the step_finish parts add up, reasoning counted in output, the model from the log and the reported cost", () => {
  const u = opencode.usage!(FIXTURE)!;
  const { cost_usd, ...tokens } = u;
  assert.deepEqual(tokens, {
    input_tokens: 3 * 1240,
    output_tokens: 3 * (64 + 16),
    cache_read_tokens: 3 * 300,
    cache_write_tokens: 0,
    reasoning_tokens: 3 * 16,
    models: ["scripted-oc"],
    turns: 3,
    source: "output",
  });
  assert.ok(cost_usd !== undefined && Math.abs(cost_usd - 3 * 0.00501) < 1e-12, String(cost_usd));
});

Deno.test("opencode usage(): a cost of 0 (a model opencode has no price for) is unknown, not free", () => {
  const u = opencode.usage!([UNPRICED_STEP])!;
  assert.equal(u.input_tokens, 1240);
  assert.equal("cost_usd" in u, false);
  assert.deepEqual(u.models, []); // no log line names it
});

Deno.test("opencode usage(): output without a step_finish (a run that never reached the model) is no usage", () => {
  assert.equal(opencode.usage!(UNREACHABLE), null);
  assert.equal(opencode.usage!([]), null);
  assert.equal(opencode.usage!(FIXTURE.filter((l) => !l.includes('"step_finish"'))), null);
});

Deno.test("opencode usage(): malformed lines give partial figures or none, never a throw", () => {
  const cut = UNPRICED_STEP.slice(0, 200);
  assert.equal(opencode.usage!([cut, "{", "null", "[]", '{"type":"step_finish"}']), null);
  const odd = [
    '{"type":"step_finish","part":{"tokens":"many","cost":"0.5"}}',
    '{"type":"step_finish","part":{"tokens":{"input":-5,"output":1.5,"reasoning":"16","cache":null},"cost":-1}}',
    '{"type":"step_finish","part":{"tokens":{"input":10,"output":2,"reasoning":1,"cache":{"read":3,"write":4}},"cost":1e400}}',
  ];
  const u = opencode.usage!(odd)!;
  assert.deepEqual(u, {
    input_tokens: 10,
    output_tokens: 3,
    cache_read_tokens: 3,
    cache_write_tokens: 4,
    reasoning_tokens: 1,
    models: [],
    turns: 2,
    source: "output",
  });
});

Deno.test("opencode readable(): tool calls, text, the final step and errors read as short lines; events and INFO logs are hidden", () => {
  const shown = FIXTURE.map((l) => opencode.readable!(l)).filter((l) => l !== null);
  assert.deepEqual(shown, [
    "→ bash: cd .. && pwd",
    '→ kanban_complete: {"summary":"Scripted summary of the work.","metadata":{"files":2,"url":"https://example.test/pr/1"}}',
    "Done.",
    "result: stop, 1620 tokens",
  ]);
  const [retry, gaveUp, event] = UNREACHABLE.map((l) => opencode.readable!(l));
  // long lines are cut to 200 characters
  assert.equal(retry!.length, 200);
  assert.ok(retry!.startsWith("opencode error: stream error: AI_APICallError: Cannot connect"));
  assert.equal(
    gaveUp,
    "opencode error: process: Cannot connect to API: Unable to connect. Is the computer able to access the url?",
  );
  assert.equal(
    event,
    "error: Cannot connect to API: Unable to connect. Is the computer able to access the url?",
  );
  assert.equal(opencode.readable!(REJECTED), REJECTED);
  assert.equal(opencode.readable!(""), null);
  // a line cut short (a killed run) is shown as it is: it may be the last thing said
  const cut = '{"type":"tool_use","part":{"tool":"bash","state":';
  assert.equal(opencode.readable!(cut), cut);
  assert.equal(
    opencode.readable!(
      '{"type":"tool_use","part":{"tool":7,"state":{"status":"error","error":5}}}',
    ),
    "→ tool failed:",
  );
});

Deno.test("opencode launch(): mcp hands kanban's server over in OPENCODE_CONFIG_CONTENT, and nothing without mcp", () => {
  assert.deepEqual(opencode.launch!(launchContext({ mcp: false })), {});
  assert.deepEqual(opencode.launch!(launchContext()), {
    env: { OPENCODE_CONFIG_CONTENT: JSON.stringify({ mcp: { kanban: OURS } }) },
  });
});

Deno.test("opencode launch(): a user's OPENCODE_CONFIG_CONTENT keeps every key, their MCP servers and their own kanban server", () => {
  const theirs = {
    model: "anthropic/claude-sonnet",
    mcp: { docs: { type: "remote", url: "https://docs.example/mcp" } },
  };
  const got = opencode.launch!(
    launchContext({ env: { OPENCODE_CONFIG_CONTENT: JSON.stringify(theirs) } }),
  );
  assert.deepEqual(JSON.parse(got.env!["OPENCODE_CONFIG_CONTENT"]!), {
    model: "anthropic/claude-sonnet",
    mcp: { kanban: OURS, docs: theirs.mcp.docs },
  });
  const own = { mcp: { kanban: { type: "local", command: ["my-kanban", "mcp"] } } };
  assert.equal(configWithMcp(JSON.stringify(own), "/opt/kanban/bin/kanban"), JSON.stringify(own));
  assert.equal(
    configWithMcp("  ", "k"),
    JSON.stringify({ mcp: { kanban: { ...OURS, command: ["k", "mcp"] } } }),
  );
});

Deno.test("opencode launch() and check(): a user's OPENCODE_CONFIG_CONTENT that is not a JSON object is left as it is, and check() says so", () => {
  for (const bad of ['{"model": "x", // mine\n}', "[1]", "null", '{"mcp": []}', '{"mcp": "on"}']) {
    assert.deepEqual(
      opencode.launch!(launchContext({ env: { OPENCODE_CONFIG_CONTENT: bad } })),
      {},
      bad,
    );
    const warnings = opencode.check!({ OPENCODE_CONFIG_CONTENT: bad });
    assert.equal(warnings.length, 1, bad);
    assert.match(
      warnings[0]!,
      /OPENCODE_CONFIG_CONTENT .* mcp = true .* without kanban's MCP server/,
    );
  }
  assert.deepEqual(opencode.check!({}), []);
  assert.deepEqual(opencode.check!({ OPENCODE_CONFIG_CONTENT: '{"model":"x"}' }), []);
});

Deno.test("opencode argv: one run with JSON events and opencode's log, its own title, approvals given, and the prompt on stdin", () => {
  const argv = opencode.argv.join(" ");
  assert.match(argv, /^opencode run .*--format json/);
  assert.match(argv, /--print-logs --log-level INFO/);
  assert.match(argv, /--auto/);
  assert.match(argv, /--title kanban \{task\}/);
  // as an argument, `run` escaped the prompt's double quotes: it is read on stdin instead
  assert.ok(!opencode.argv.some((a) => a.includes("{prompt}")), argv);
  assert.equal(opencode.stdin, "prompt");
  assert.equal(opencode.mcp, true);
});
