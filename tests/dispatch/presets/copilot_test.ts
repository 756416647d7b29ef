/**
 * The copilot preset's reading of Copilot CLI 1.0.102 JSON output, fed with lines captured
 * from real runs (fixtures/copilot.jsonl, in three groups that each end with the run's
 * `result` line): a run whose shell tool ran `kanban complete`; a run with kanban's MCP
 * server whose `complete` call failed, then a shell call and text; and failures (an MCP
 * server that exited before its handshake, from another run, then a provider that refused
 * connections).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { copilot } from "../../../lib/dispatch/presets/copilot.ts";
import { lastWords } from "../../../lib/dispatch/output.ts";

const LINES = readFileSync(new URL("./fixtures/copilot.jsonl", import.meta.url), "utf8")
  .split("\n").filter((l) => l !== "");

/** The fixture's runs: each ends with its `result` line. */
const [SHELL, MCP, FAILED] = LINES.reduce<string[][]>((runs, line) => {
  runs.at(-1)!.push(line);
  if (JSON.parse(line).type === "result") runs.push([]);
  return runs;
}, [[]]) as [string[], string[], string[]];

const usage = (lines: readonly string[]) => copilot.usage!(lines);
const readable = (line: string) => copilot.readable!(line);
const ofType = (lines: string[], type: string) => lines.filter((l) => JSON.parse(l).type === type);

Deno.test("copilot usage(): a run's replies are its turns, with the model that gave them and no tokens", () => {
  assert.deepEqual(usage(SHELL), {
    input_tokens: 0,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    models: ["scripted-chat"],
    turns: 2,
    source: "output",
  });
  assert.equal(usage(MCP)?.turns, 3, "a failed tool call's reply counts too");
});

Deno.test("copilot usage(): a run whose model never replied has no usage", () => {
  assert.equal(usage(FAILED), null);
  assert.equal(usage([]), null);
  assert.equal(usage(["", "not json", "{", "[1,2]"]), null);
});

Deno.test("copilot usage(): a reply split into chunks counts once", () => {
  const [first, second] = ofType(SHELL, "assistant.message").map((l) => JSON.parse(l));
  const chunk = (o: { data: Record<string, unknown> }, i: number) =>
    JSON.stringify({ ...o, data: { ...o.data, chunkIndex: i, chunkCount: 2 } });
  assert.equal(usage([chunk(first, 0), chunk(first, 1), JSON.stringify(second)])?.turns, 2);
});

Deno.test("copilot usage(): malformed replies give partial figures, never a throw", () => {
  const message = ofType(SHELL, "assistant.message")[0]!;
  assert.deepEqual(usage([message, message.slice(0, 90), "{}", '{"type":5}']), {
    input_tokens: 0,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    models: ["scripted-chat"],
    turns: 1,
    source: "output",
  }, "a truncated line is no reply");
  const odd = [
    '{"type":"assistant.message","data":{"model":42,"chunkIndex":"1"}}',
    '{"type":"assistant.message","data":"text"}',
    '{"type":"assistant.message","data":{"model":["x"],"chunkIndex":null}}',
    '{"type":"assistant.message"}',
  ];
  assert.equal(usage(odd)?.turns, 4, "each is a reply, of no known model");
  assert.deepEqual(usage(odd)?.models, []);
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
  const ctx = {
    kanban: "/opt/kanban/bin/kanban",
    board: "/b/board.db",
    env: { KANBAN_TOKEN: "secret-token", PATH: "/usr/bin" },
    args: [],
    mcp: true,
    runFile: (name: string) => `/logs/run-1.${name}`,
  };
  assert.deepEqual(copilot.launch!({ ...ctx, mcp: false }).args, []);
  const { args = [], files } = copilot.launch!(ctx);
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
  const ctx = {
    kanban: "/opt/kanban/bin/kanban",
    board: "/b/board.db",
    env: { PATH: "/opt/kanban/bin:/usr/bin" },
    args: [],
    mcp: false,
    runFile: (name: string) => `/logs/run-1.${name}`,
  };
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
