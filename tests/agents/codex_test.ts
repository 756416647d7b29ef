/**
 * The codex preset through the real Codex CLI: `kanban dispatch` runs `codex exec` against the
 * scripted model server (the Responses API), and the task ends as the script says, through
 * Codex's shell tool or kanban's MCP server, inside Codex's workspace-write sandbox.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import process from "node:process";
import {
  assertHeld,
  assertTwoTurns,
  assertWorkerTools,
  COMPLETE,
  explain,
  mcpComplete,
  runHeld,
  runTask,
  servedUsage,
  shellComplete,
  type TierCli,
  type TierResult,
} from "./_tier.ts";
import { responses, RESPONSES_MODEL } from "./model/responses.ts";
import { BINARY } from "../e2e/_binary.ts";
import { tempDir } from "../_setup.ts";

/**
 * codexCli is Codex as the tier runs it: its config.toml points it at the model server through
 * a Responses provider (the key comes from the environment); `extra` is more of that file's
 * `[sandbox_workspace_write]` table.
 */
function codexCli(extra = ""): TierCli {
  return {
    preset: "codex",
    apis: [responses],
    configure(home, url) {
      mkdirSync(join(home, ".codex"), { recursive: true });
      writeFileSync(
        join(home, ".codex", "config.toml"),
        [
          `model_provider = "scripted"`,
          `model = "${RESPONSES_MODEL}"`,
          // /tmp (and $TMPDIR) are writable in Codex's sandbox by default, and the tier's
          // board lives under /tmp: without them only the roots the preset adds are writable
          `[sandbox_workspace_write]`,
          `exclude_slash_tmp = true`,
          `exclude_tmpdir_env_var = true`,
          extra,
          `[model_providers.scripted]`,
          `name = "scripted model server"`,
          `base_url = "${url}/v1"`,
          `env_key = "SCRIPTED_API_KEY"`,
          `wire_api = "responses"`,
          "",
        ].join("\n"),
      );
      return { SCRIPTED_API_KEY: "scripted" };
    },
  };
}

const CODEX = codexCli();
const TIMEOUT = 120_000;

/**
 * assertDone checks a run of the standard script whose first reply called `call` (see
 * assertTwoTurns): Codex sent nothing but those two turns, and counted both replies. Its usage
 * is the sum over every reply it was served, read back into kanban's non-overlapping kinds;
 * Codex's JSON events never name the model.
 */
function assertDone(r: TierResult, call: string): string {
  const { run, turns, why } = assertTwoTurns(r, call);
  assert.equal(r.server.requests.length, 2, why);
  assert.deepEqual(run.usage, { ...servedUsage(turns.length), models: [] }, why);
  return why;
}

Deno.test("codex preset: a task ends done through the CLI's shell tool running kanban complete", async () => {
  await using r = await runTask(CODEX, { steps: shellComplete(), timeoutMs: TIMEOUT });
  const why = assertDone(r, "exec_command");
  assert.equal(r.server.turns()[0]!.turn!.model, RESPONSES_MODEL, why);
  // the shell tool ran bash -c (allow_login_shell=false), so kanban stayed on its PATH
  assert.match(r.log, /"command":"\/bin\/bash -c /, why);
});

Deno.test("codex preset: a task ends done through kanban's MCP server, which offers all eight worker tools", async () => {
  await using r = await runTask(CODEX, { steps: mcpComplete(), mcp: true, timeoutMs: TIMEOUT });
  assertDone(r, "mcp__kanban__complete");
  assertWorkerTools(r, (t) => `mcp__kanban__${t}`);
});

/** initBoard makes a board of its own under `home` with the compiled kanban; returns its path. */
function initBoard(home: string): string {
  const binary = process.env["KANBAN_TIER_BINARY"] || BINARY;
  const out = spawnSync(binary, ["init"], {
    env: { HOME: home, KANBAN_HOME: home, PATH: "/usr/bin:/bin" },
    encoding: "utf8",
  });
  assert.equal(out.status, 0, `kanban init: ${out.stdout}${out.stderr}`);
  const path = join(home, "boards", "default", "board.db");
  assert.ok(existsSync(path), path);
  return path;
}

Deno.test("codex preset: inside the sandbox a board outside the writable roots is read-only, and kanban says so, naming it", async () => {
  using other = tempDir("kanban-codex-other-");
  const board = initBoard(other.dir);
  // a write to a board whose folder the sandbox keeps read-only (it is not this run's board),
  // then this run's own complete, which the preset's roots allow
  const write = `env -i PATH="$PATH" HOME=${other.dir} KANBAN_HOME=${other.dir} ` +
    `kanban create 'from the sandbox'`;
  await using r = await runTask(CODEX, {
    steps: shellComplete({ shell: write }),
    timeoutMs: TIMEOUT,
  });
  assert.equal(r.task.status, "done", explain(r));
  const refused = r.server.turns()[1]?.turn?.toolResults[0] ?? "";
  assert.match(refused, /exited with code [1-9]/, `the write failed: ${refused}`);
  assert.match(refused, /read-only/, `the error says read-only: ${refused}`);
  assert.ok(refused.includes(board), `the error names the board ${board}: ${refused}`);
  assert.doesNotMatch(refused, /internal error/i, refused);
});

Deno.test("codex preset: a user's own writable roots stay writable beside the board's folder", async () => {
  using mine = tempDir("kanban-codex-roots-");
  const inConfig = join(mine.dir, "config-root");
  const inArgs = join(mine.dir, "args-root");
  mkdirSync(inConfig);
  mkdirSync(inArgs);
  // config.toml's list, then a profile whose args set their own list (which replaces config's:
  // that is Codex's rule for -c, the user's choice)
  const cases: [root: string, cli: TierCli, profile: string][] = [
    [inConfig, codexCli(`writable_roots = ["${inConfig}"]`), ""],
    [inArgs, CODEX, `args = ["-c", 'sandbox_workspace_write.writable_roots=["${inArgs}"]']`],
  ];
  for (const [root, cli, profile] of cases) {
    await using r = await runTask(cli, {
      steps: [{ shell: `touch ${root}/written && ${COMPLETE}` }, { text: "Done." }],
      profile,
      timeoutMs: TIMEOUT,
    });
    assert.equal(r.task.status, "done", explain(r));
    assert.ok(existsSync(join(root, "written")), explain(r));
  }
});

Deno.test("codex preset: a 429 after Codex's own retries holds the profile (no reset reported: a minute), not counted", async () => {
  await using r = await runHeld(codexCli(), { kind: "rate_limit" });
  assertHeld(r, "rate_limit");
});

Deno.test("codex preset: an exhausted quota (insufficient_quota) holds the profile", async () => {
  await using r = await runHeld(codexCli(), { kind: "quota" });
  assertHeld(r, "quota");
});

Deno.test("codex preset: a rejected API key holds the profile until released and blocks the task", async () => {
  await using r = await runHeld(codexCli(), { kind: "auth" });
  assertHeld(r, "auth");
});
