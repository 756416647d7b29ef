/**
 * The qwen preset's reading of Qwen Code's stream-json output and what it adds to a run.
 * fixtures/qwen.jsonl is a real run's log (Qwen Code 0.24.4 in the real-CLI tier: a shell step
 * running kanban complete, then "Done."; the init event's lists and a tool output trimmed); the
 * other real lines below were captured from other runs of the same version.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { qwen, trustWorkspace } from "../../../lib/dispatch/presets/qwen.ts";
import { tempDir } from "../../_setup.ts";
import { fixtureLines, launchContext } from "./_fixtures.ts";

const FIXTURE = fixtureLines("qwen");

/** The call of kanban's MCP tool in a run with mcp = true. */
const MCP_CALL =
  `{"type":"assistant","uuid":"8f790116-9406-431b-a11a-52f56f8b8ffe","session_id":"86801cd1-1d5f-425c-9f4f-e0f5edfcc725","parent_tool_use_id":null,"message":{"id":"8f790116-9406-431b-a11a-52f56f8b8ffe","type":"message","role":"assistant","model":"scripted-qwen","content":[{"type":"tool_use","id":"call_3","name":"mcp__kanban__complete","input":{"summary":"Scripted summary of the work.","metadata":{"files":2,"url":"https://example.test/pr/1"}}}],"stop_reason":"tool_use","usage":{"input_tokens":1540,"output_tokens":80,"cache_read_input_tokens":300,"total_tokens":1620}}}`;

/** A shell command that exited 3. */
const FAILED_TOOL =
  `{"type":"user","uuid":"c3b5be44-bff6-4458-9da8-865421631185","session_id":"126e201f-aae4-4a3a-a607-c3a155168247","parent_tool_use_id":null,"message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","is_error":true,"content":"Command: echo oops >&2; exit 3\\nDirectory: (root)\\nOutput: oops\\nError: (none)\\nExit Code: 3\\nSignal: (none)\\nProcess Group PGID: (none)"}]}}`;

/** A run whose endpoint could not be reached. */
const UNREACHABLE = [
  `{"type":"system","subtype":"init","uuid":"f7603df1-ebd3-459b-ac84-99ff097fafc6","session_id":"f7603df1-ebd3-459b-ac84-99ff097fafc6","cwd":"/tmp/qw-ws","tools":["run_shell_command"],"mcp_servers":[],"model":"scripted-qw","permission_mode":"yolo","qwen_code_version":"0.24.4"}`,
  `{"type":"assistant","uuid":"5ebd9d41-efd6-4150-a703-5841ac8c3572","session_id":"f7603df1-ebd3-459b-ac84-99ff097fafc6","parent_tool_use_id":null,"message":{"id":"5ebd9d41-efd6-4150-a703-5841ac8c3572","type":"message","role":"assistant","model":"scripted-qw","content":[{"type":"text","text":"[API Error: Connection error. (cause: fetch failed)]"}],"stop_reason":null,"usage":{"input_tokens":0,"output_tokens":0}}}`,
  `{"type":"result","subtype":"error_during_execution","uuid":"3a12ff67-6bb4-49e4-b9a8-468e3a4982af","session_id":"f7603df1-ebd3-459b-ac84-99ff097fafc6","is_error":true,"duration_ms":3980,"duration_api_ms":0,"num_turns":1,"usage":{"input_tokens":0,"output_tokens":0,"cache_read_input_tokens":0},"permission_denials":[],"error":{"message":"[API Error: Connection error. (cause: fetch failed)]"}}`,
];

/** What Qwen Code prints when folder trust is on and the folder is not trusted. */
const UNTRUSTED =
  'Approval mode overridden to "default" because the current folder is not trusted.';

const WORKSPACE = "/home/u/.kanban/workspaces/default/scratch/t_1";

Deno.test("qwen usage(): the result event's usage, cache reads taken out of the input, the model and the turns", () => {
  assert.deepEqual(qwen.usage!(FIXTURE), {
    input_tokens: 3080 - 600,
    output_tokens: 160,
    cache_read_tokens: 600,
    cache_write_tokens: 0,
    models: ["scripted-qwen"],
    turns: 2,
    source: "output",
  });
});

Deno.test("qwen usage(): a run whose every request failed used nothing, and names no model", () => {
  assert.deepEqual(qwen.usage!(UNREACHABLE), {
    input_tokens: 0,
    output_tokens: 0,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    models: [],
    turns: 1,
    source: "output",
  });
});

Deno.test("qwen usage(): without a result event (a killed run) there is no usage", () => {
  assert.equal(qwen.usage!(FIXTURE.filter((l) => !l.includes('"type":"result"'))), null);
  assert.equal(qwen.usage!([]), null);
  assert.equal(qwen.usage!([UNTRUSTED, MCP_CALL]), null);
});

Deno.test("qwen usage(): malformed lines give partial figures or none, never a throw", () => {
  const result = FIXTURE.find((l) => l.includes('"type":"result"'))!;
  assert.equal(qwen.usage!([result.slice(0, 120), "{", "null", '{"type":"result"}']), null);
  assert.equal(qwen.usage!(['{"type":"result","usage":"lots"}']), null);
  assert.deepEqual(
    qwen.usage!([
      '{"type":"result","num_turns":-1,"usage":{"input_tokens":100,"output_tokens":"7","cache_read_input_tokens":400,"cache_creation_input_tokens":9}}',
    ]),
    {
      input_tokens: 0,
      output_tokens: 0,
      cache_read_tokens: 100, // never more than the input it is part of
      cache_write_tokens: 0,
      models: [],
      source: "output",
    },
  );
  assert.deepEqual(
    qwen.usage!([
      '{"type":"result","num_turns":3,"usage":{"input_tokens":100,"output_tokens":7,"cache_read_input_tokens":20,"cache_creation_input_tokens":30}}',
    ]),
    {
      input_tokens: 50,
      output_tokens: 7,
      cache_read_tokens: 20,
      cache_write_tokens: 30,
      models: [],
      turns: 3,
      source: "output",
    },
  );
});

Deno.test("qwen readable(): tool calls, text, failed tools, the result and stderr read as short lines; other events are hidden", () => {
  const shown = FIXTURE.map((l) => qwen.readable!(l)).filter((l) => l !== null);
  assert.equal(shown.length, 5, shown.join("\n"));
  assert.match(shown[0]!, /^Ripgrep not available/);
  assert.match(shown[1]!, /^Warning: running headless with --yolo/);
  assert.equal(
    shown[2],
    `→ run_shell_command: kanban complete --summary 'Scripted summary of the work.' --metadata '{"files":2,"url":"https://example.test/pr/1"}'`,
  );
  assert.equal(shown[3], "Done.");
  assert.equal(shown[4], "result: success (2 turns, 3240 tokens, 4.422s)");
  assert.equal(
    qwen.readable!(MCP_CALL),
    '→ mcp__kanban__complete: {"summary":"Scripted summary of the work.","metadata":{"files":2,"url":"https://example.test/pr/1"}}',
  );
  assert.equal(
    qwen.readable!(FAILED_TOOL),
    "tool error: Command: echo oops >&2; exit 3 Directory: (root) Output: oops Error: (none) Exit Code: 3 Signal: (none) Process Group PGID: (none)",
  );
  assert.deepEqual(UNREACHABLE.map((l) => qwen.readable!(l)), [
    null,
    "[API Error: Connection error. (cause: fetch failed)]",
    "result: error_during_execution: [API Error: Connection error. (cause: fetch failed)]",
  ]);
  assert.equal(qwen.readable!(UNTRUSTED), UNTRUSTED);
  assert.equal(qwen.readable!("  "), null);
  assert.equal(qwen.readable!('{"type":"assistant","message":{"content":"text"}}'), null);
  assert.equal(
    qwen.readable!('{"type":"user","message":{"content":[{"type":"tool_result"}]}}'),
    null,
  );
});

Deno.test("qwen launch(): mcp hands kanban's server over with --mcp-config, its tools declared up front", () => {
  const got = qwen.launch!(launchContext({ env: { HOME: "/nonexistent-home" } }));
  assert.deepEqual(got.args!.slice(0, 1), ["--mcp-config"]);
  assert.deepEqual(JSON.parse(got.args![1]!), {
    mcpServers: {
      kanban: {
        command: "/opt/kanban/bin/kanban",
        args: ["mcp"],
        trust: true,
        alwaysLoadTools: true,
      },
    },
  });
  assert.equal(
    qwen.launch!(launchContext({ env: { HOME: "/nonexistent-home" }, mcp: false })).args,
    undefined,
  );
});

Deno.test("qwen launch(): the run's workspace is trusted in a trusted-folders file of its own that keeps the user's rules", () => {
  using tmp = tempDir();
  const theirs = join(tmp.dir, "trustedFolders.json");
  writeFileSync(
    theirs,
    JSON.stringify({ "/srv/app": "TRUST_PARENT", "/srv/secret": "DO_NOT_TRUST" }),
  );
  const env = { KANBAN_WORKSPACE: WORKSPACE, QWEN_CODE_TRUSTED_FOLDERS_PATH: theirs };
  const got = qwen.launch!(launchContext({ env, mcp: false }));
  const path = "/home/u/.kanban/logs/default/t_1/run-1.qwen-trusted-folders.json";
  assert.deepEqual(got.env, { QWEN_CODE_TRUSTED_FOLDERS_PATH: path });
  assert.deepEqual(JSON.parse(got.files![path]!), {
    "/srv/app": "TRUST_PARENT",
    "/srv/secret": "DO_NOT_TRUST",
    [WORKSPACE]: "TRUST_FOLDER",
  });
  // their own rule for the workspace itself wins
  writeFileSync(theirs, JSON.stringify({ [WORKSPACE]: "DO_NOT_TRUST" }));
  assert.deepEqual(trustWorkspace(env), { [WORKSPACE]: "DO_NOT_TRUST" });
});

Deno.test("qwen launch(): the user's file is found under QWEN_HOME or HOME, and one that is not plain JSON is left to Qwen Code", () => {
  using tmp = tempDir();
  writeFileSync(join(tmp.dir, "trustedFolders.json"), '{"/a": "TRUST_FOLDER"}');
  const base = { KANBAN_WORKSPACE: WORKSPACE, HOME: "/nonexistent-home" };
  assert.deepEqual(trustWorkspace({ ...base, QWEN_HOME: tmp.dir }), {
    "/a": "TRUST_FOLDER",
    [WORKSPACE]: "TRUST_FOLDER",
  });
  assert.deepEqual(trustWorkspace(base), { [WORKSPACE]: "TRUST_FOLDER" }); // no file: none of theirs
  for (const bad of ['{"/a": "TRUST_FOLDER", // mine\n}', "[]", "null", "{"]) {
    writeFileSync(join(tmp.dir, "trustedFolders.json"), bad);
    assert.equal(trustWorkspace({ ...base, QWEN_HOME: tmp.dir }), null, bad);
    assert.deepEqual(
      qwen.launch!(launchContext({ env: { ...base, QWEN_HOME: tmp.dir }, mcp: false })),
      {},
      bad,
    );
  }
  assert.equal(trustWorkspace({ HOME: "/nonexistent-home" }), null); // no workspace to trust
});

Deno.test("qwen argv: one-shot headless with the positional prompt, stream-json, every tool approved", () => {
  assert.deepEqual(qwen.argv, ["qwen", "--yolo", "--output-format", "stream-json", "{prompt}"]);
  assert.equal(qwen.mcp, true);
});
