/**
 * The gemini preset's reading of Gemini CLI's stream-json output and its per-run settings
 * file. fixtures/gemini.jsonl is a real run's log (Gemini CLI 0.61.0 in the real-CLI tier,
 * long texts trimmed); the other real lines below were captured from runs that failed.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gemini, geminiLaunch } from "../../../lib/dispatch/presets/gemini.ts";
import { type LaunchContext, WORKER_ENV } from "../../../lib/dispatch/presets/preset.ts";
import { tempDir } from "../../_setup.ts";
import { fixtureLines } from "./_fixtures.ts";

const FIXTURE = fixtureLines("gemini");

/** A run whose model calls all failed (the base URL answered 404). */
const FAILED_AT_ONCE =
  `{"type":"result","timestamp":"2026-12-04T17:12:08.987Z","status":"error","error":{"type":"unknown","message":"[API Error: {\\"error\\":{\\"message\\":\\"no scripted API\\"}}]"},"stats":{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0,"duration_ms":0,"tool_calls":0,"models":{"gemini-3.5-flash-lite":{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0},"gemini-3.1-pro-preview":{"total_tokens":0,"input_tokens":0,"output_tokens":0,"cached":0,"input":0}}}}`;

/** A run whose model answered nothing, three times. */
const EMPTY_REPLY = [
  `{"type":"error","timestamp":"2026-12-04T17:13:55.150Z","severity":"error","message":"The model returned an empty response with no text or thoughts. This may be a transient API issue; please try again."}`,
  `{"type":"result","timestamp":"2026-12-04T17:13:55.151Z","status":"error","stats":{"total_tokens":7900,"input_tokens":7500,"output_tokens":320,"cached":1500,"input":6000,"duration_ms":7984,"tool_calls":0,"models":{"gemini-3.5-flash-lite":{"total_tokens":1580,"input_tokens":1500,"output_tokens":64,"cached":300,"input":1200},"gemini-3.8-flash":{"total_tokens":6320,"input_tokens":6000,"output_tokens":256,"cached":1200,"input":4800}}}}`,
];

Deno.test("gemini usage() reads the result event: fresh input, cache reads, output with thoughts, models", () => {
  // six replies of 1500 prompt tokens (300 cached), 64 candidates and 16 thoughts each
  assert.deepEqual(gemini.usage!(FIXTURE), {
    input_tokens: 7200,
    output_tokens: 480,
    cache_read_tokens: 1800,
    cache_write_tokens: 0,
    reasoning_tokens: 96,
    models: ["gemini-3.5-flash-lite", "gemini-3.8-flash"],
    source: "output",
  });
});

Deno.test("gemini usage() of a failed run counts what was served and leaves out models that served nothing", () => {
  assert.deepEqual(gemini.usage!(EMPTY_REPLY)?.input_tokens, 6000);
  assert.deepEqual(gemini.usage!(EMPTY_REPLY)?.models, [
    "gemini-3.5-flash-lite",
    "gemini-3.8-flash",
  ]);
  const none = gemini.usage!([FAILED_AT_ONCE]);
  assert.equal(none?.input_tokens, 0);
  assert.equal(none?.output_tokens, 0);
  assert.deepEqual(none?.models, []);
  assert.equal(
    gemini.readable!(FAILED_AT_ONCE),
    'result: error: [API Error: {"error":{"message":"no scripted API"}}]',
  );
});

Deno.test("gemini usage() is null without a result event and never throws on malformed lines", () => {
  const result = FIXTURE.find((l) => l.includes('"type":"result"'))!;
  assert.equal(gemini.usage!([]), null);
  assert.equal(gemini.usage!([""]), null);
  assert.equal(gemini.usage!(FIXTURE.filter((l) => l !== result)), null, "killed before it ended");
  assert.equal(gemini.usage!([result.slice(0, 120)]), null, "truncated JSON");
  assert.equal(gemini.usage!(['{"type":"result","stats":"many"}']), null);
  assert.equal(gemini.usage!(['{"type":"result","stats":[1,2]}']), null);
  assert.equal(gemini.usage!(["[1,2]", "null", "Invalid auth method selected."]), null);
  // wrong types count as nothing; the rest is read
  const partial = gemini.usage!([
    '{"type":"result","stats":{"input_tokens":"9000","cached":-5,"output_tokens":10.5,"total_tokens":100,"models":["m"]}}',
  ]);
  assert.deepEqual(partial, {
    input_tokens: 0,
    output_tokens: 100,
    cache_read_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 100,
    models: [],
    source: "output",
  });
  // more cached than prompt, or a total short of prompt + candidates, never goes negative
  const odd = gemini.usage!([
    '{"type":"result","stats":{"input_tokens":10,"cached":50,"output_tokens":7,"total_tokens":3,"models":{"m":{"total_tokens":3}}}}',
  ]);
  assert.deepEqual([odd?.input_tokens, odd?.cache_read_tokens, odd?.output_tokens], [0, 10, 7]);
  assert.equal(odd?.reasoning_tokens, 0);
  assert.deepEqual(odd?.models, ["m"]);
});

Deno.test("gemini readable() shows assistant text, tool calls, tool errors and the result, and hides the rest", () => {
  const shown = FIXTURE.map((l) => gemini.readable!(l)).filter((l) => l !== null);
  assert.deepEqual(shown, [
    "→ mcp_kanban_show: {}",
    '→ mcp_kanban_complete: {"summary":5}',
    "tool error: params/summary must be string",
    "Error executing tool mcp_kanban_complete: params/summary must be string",
    "→ run_shell_command: kanban heartbeat --note 'halfway'",
    '→ mcp_kanban_complete: {"summary":"S","metadata":{"a":1}}',
    "Done.",
    "result: success (9480 tokens, 4 tool calls, 3.589s)",
  ]);
  assert.equal(
    gemini.readable!(EMPTY_REPLY[0]!),
    "error: The model returned an empty response with no text or thoughts. This may be a transient API issue; please try again.",
  );
  assert.equal(
    gemini.readable!(EMPTY_REPLY[1]!),
    "result: error (7900 tokens, 0 tool calls, 7.984s)",
  );
});

Deno.test("gemini readable() never throws on malformed lines", () => {
  assert.equal(gemini.readable!(""), null);
  assert.equal(gemini.readable!("   "), null);
  assert.equal(gemini.readable!("Ripgrep is not available. Falling back to GrepTool."), null);
  assert.equal(gemini.readable!("Invalid auth method selected."), "Invalid auth method selected.");
  assert.equal(gemini.readable!('{"type":"tool_use","tool_na'), '{"type":"tool_use","tool_na');
  assert.equal(gemini.readable!('{"type":"tool_use","parameters":"x"}'), '→ tool: "x"');
  assert.equal(gemini.readable!('{"type":"message","role":"assistant","content":7}'), null);
  assert.equal(gemini.readable!('{"type":"error","message":null}'), "error: ");
  assert.equal(
    gemini.readable!('{"type":"result","stats":[]}'),
    "result: ? (0 tokens, 0 tool calls, 0s)",
  );
  assert.equal(gemini.readable!('{"type":"later_event"}'), null);
  assert.equal(gemini.readable!("[1]"), "[1]");
});

/** context is a LaunchContext for a run in `dir`, with the worker's environment `env`. */
function context(dir: string, env: Record<string, string>, mcp = true): LaunchContext {
  return {
    kanban: "/opt/kanban/bin/kanban",
    board: join(dir, "board.db"),
    env: {
      KANBAN_TASK: "t_1",
      KANBAN_RUN: "4",
      KANBAN_TOKEN: "secret-lease-token",
      KANBAN_DB: join(dir, "board.db"),
      KANBAN_WORKSPACE: dir,
      KANBAN_PROFILE: "agent",
      KANBAN_BIN: "/opt/kanban/bin/kanban",
      ...env,
    },
    args: [],
    mcp,
    runFile: (name) => join(dir, `run-4.${name}`),
    workspace: { path: join(dir, "scratch", "t_1"), own: true },
  };
}

Deno.test("gemini launch() without mcp adds nothing", () => {
  using tmp = tempDir("kanban-gemini-");
  assert.deepEqual(geminiLaunch(context(tmp.dir, {}, false), 0), {});
});

Deno.test("gemini launch() as root hands the server over in a run's system settings file naming the set worker variables, never their values", () => {
  using tmp = tempDir("kanban-gemini-");
  const none = join(tmp.dir, "no-system-settings.json");
  const added = geminiLaunch(context(tmp.dir, { GEMINI_CLI_SYSTEM_SETTINGS_PATH: none }), 0);
  const path = join(tmp.dir, "run-4.gemini.json");
  assert.deepEqual(added.env, { GEMINI_CLI_SYSTEM_SETTINGS_PATH: path });
  assert.equal(added.args, undefined);
  const text = added.files![path]!;
  assert.ok(!text.includes("secret-lease-token"), "the token is a ${KANBAN_TOKEN} reference");
  assert.deepEqual(JSON.parse(text), {
    mcpServers: {
      kanban: {
        command: "/opt/kanban/bin/kanban",
        args: ["mcp"],
        // KANBAN_BOARD and KANBAN_TENANT are not set for this run, so not named
        env: {
          KANBAN_TASK: "${KANBAN_TASK}",
          KANBAN_RUN: "${KANBAN_RUN}",
          KANBAN_TOKEN: "${KANBAN_TOKEN}",
          KANBAN_DB: "${KANBAN_DB}",
          KANBAN_WORKSPACE: "${KANBAN_WORKSPACE}",
          KANBAN_PROFILE: "${KANBAN_PROFILE}",
          KANBAN_BIN: "${KANBAN_BIN}",
        },
        trust: true,
      },
    },
  });
});

Deno.test("gemini launch() keeps the user's own system settings, comments and all, and adds the server to theirs", () => {
  using tmp = tempDir("kanban-gemini-");
  const own = join(tmp.dir, "system.json");
  writeFileSync(
    own,
    `{
  // the admin's choices
  "general": { "vimMode": true },
  /* their server */
  "mcpServers": { "docs": { "httpUrl": "https://docs.example/mcp" } },
  "context": { "fileName": "NOTES.md // not a comment" }
}`,
  );
  const added = geminiLaunch(context(tmp.dir, { GEMINI_CLI_SYSTEM_SETTINGS_PATH: own }), 0);
  const merged = JSON.parse(added.files![join(tmp.dir, "run-4.gemini.json")]!);
  assert.deepEqual(merged.general, { vimMode: true });
  assert.deepEqual(merged.context, { fileName: "NOTES.md // not a comment" });
  assert.deepEqual(Object.keys(merged.mcpServers), ["docs", "kanban"]);
  assert.deepEqual(merged.mcpServers.docs, { httpUrl: "https://docs.example/mcp" });
  assert.equal(readFileSync(own, "utf8").includes("kanban"), false, "their file is untouched");
});

Deno.test("gemini launch() not as root writes the server into a scratch workspace's settings, never into the user's workspace", () => {
  using tmp = tempDir();
  const ctx = context(tmp.dir, { GEMINI_CLI_SYSTEM_SETTINGS_PATH: join(tmp.dir, "theirs.json") });
  const added = geminiLaunch(ctx, 1000);
  // their system settings path stays as it is; the scratch folder is trusted from the start
  assert.deepEqual(added.env, { GEMINI_CLI_TRUST_WORKSPACE: "true" });
  const path = join(ctx.workspace.path, ".gemini", "settings.json");
  assert.deepEqual(Object.keys(added.files ?? {}), [path]);
  const settings = JSON.parse(added.files![path]!);
  assert.deepEqual(settings.mcpServers.kanban.args, ["mcp"]);
  assert.equal(settings.mcpServers.kanban.env.KANBAN_TOKEN, "${KANBAN_TOKEN}");
  assert.equal(added.files![path]!.includes("secret-lease-token"), false);
  const theirs = { ...ctx, workspace: { path: "/srv/their-repo", own: false } };
  assert.deepEqual(geminiLaunch(theirs, 1000), {}, "a dir: or worktree workspace is left alone");
});

Deno.test("gemini launch() refuses to replace system settings it cannot read, naming the file", () => {
  using tmp = tempDir("kanban-gemini-");
  const own = join(tmp.dir, "system.json");
  for (const content of ['{"general": {', "[1, 2]"]) {
    writeFileSync(own, content);
    assert.throws(
      () => geminiLaunch(context(tmp.dir, { GEMINI_CLI_SYSTEM_SETTINGS_PATH: own }), 0),
      (err: Error) => err.message.includes(own),
    );
  }
});

/** home makes a HOME whose ~/.gemini/settings.json holds `settings` (text as is). */
function home(dir: string, settings: unknown): string {
  mkdirSync(join(dir, ".gemini"), { recursive: true });
  writeFileSync(
    join(dir, ".gemini", "settings.json"),
    typeof settings === "string" ? settings : JSON.stringify(settings),
  );
  return dir;
}

Deno.test("gemini check() warns when a base URL comes without an auth type, which headless Gemini CLI rejects", () => {
  using tmp = tempDir("kanban-gemini-");
  const none = join(tmp.dir, "no-system-settings.json");
  const env = {
    GOOGLE_GEMINI_BASE_URL: "http://127.0.0.1:9",
    GEMINI_CLI_SYSTEM_SETTINGS_PATH: none,
  };
  const [warning, ...rest] = gemini.check!({ ...env, HOME: home(join(tmp.dir, "a"), {}) });
  assert.match(warning!, /security\.auth\.selectedType.*Invalid auth method selected/);
  assert.deepEqual(rest, []);
  const set = home(join(tmp.dir, "b"), { security: { auth: { selectedType: "gemini-api-key" } } });
  assert.deepEqual(gemini.check!({ ...env, HOME: set }), []);
  assert.deepEqual(
    gemini.check!({ HOME: join(tmp.dir, "a"), GEMINI_CLI_SYSTEM_SETTINGS_PATH: none }),
    [],
  );
  const broken = home(join(tmp.dir, "c"), "{ not json");
  assert.equal(gemini.check!({ ...env, HOME: broken }).length, 1, "a bad file is no settings");
});

Deno.test("gemini check() warns when Gemini CLI would hide the worker's variables from its shell commands", () => {
  using tmp = tempDir("kanban-gemini-");
  const none = join(tmp.dir, "no-system-settings.json");
  const env = { GEMINI_CLI_SYSTEM_SETTINGS_PATH: none, HOME: home(join(tmp.dir, "a"), {}) };
  const [actions] = gemini.check!({ ...env, GITHUB_SHA: "0123abc" });
  assert.match(
    actions!,
    /hides KANBAN_TASK, KANBAN_RUN, KANBAN_TOKEN, .*KANBAN_REPORT_FILE .*GITHUB_SHA/,
  );
  const redacting = home(join(tmp.dir, "b"), {
    security: { environmentVariableRedaction: { enabled: true } },
  });
  const [redacted, ...rest] = gemini.check!({ ...env, HOME: redacting });
  assert.match(redacted!, /hides KANBAN_TOKEN from its shell commands/);
  assert.deepEqual(rest, []);
  const allowing = home(join(tmp.dir, "c"), {
    security: { environmentVariableRedaction: { enabled: true, allowed: [...WORKER_ENV] } },
  });
  assert.deepEqual(gemini.check!({ ...env, HOME: allowing, GITHUB_SHA: "0123abc" }), []);
});
