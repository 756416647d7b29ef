/**
 * The worker environment codec: what the dispatcher encodes for a launch is what the CLI and
 * the MCP server decode, and a malformed variable is refused by name.
 */
import assert from "node:assert/strict";
import {
  decodeWorkerEnv,
  encodeWorkerEnv,
  WORKER_ENV,
  WORKER_VARS,
  workerBindingOf,
  type WorkerEnv,
} from "../lib/worker_env.ts";
import { ValidationError } from "../lib/errors.ts";
import { cliHome } from "./cli/_cli.ts";

const FULL: WorkerEnv = {
  task: "t_3fa9c2d1",
  run: 12,
  token: "kb_secret",
  db: "/home/me/.kanban/boards/default/board.db",
  socket: null,
  board: "default",
  workspace: "/tmp/ws",
  profile: "coder",
  tenant: "acme",
  bin: "/usr/local/bin/kanban",
  promptFile: "/home/me/.kanban/logs/12/prompt.md",
  leaseMs: 120_000,
  reportFile: "/home/me/.kanban/logs/12/report.json",
};

Deno.test("decodeWorkerEnv() reads back exactly what encodeWorkerEnv() wrote", () => {
  assert.deepEqual(decodeWorkerEnv(encodeWorkerEnv(FULL)), FULL);
  const bare = { ...FULL, board: null, tenant: null };
  const env = encodeWorkerEnv(bare);
  assert.equal(WORKER_VARS.board in env, false, "no board name: KANBAN_BOARD unset");
  assert.equal(WORKER_VARS.tenant in env, false, "no tenant: KANBAN_TENANT unset");
  assert.deepEqual(decodeWorkerEnv(env), bare);
});

Deno.test("encodeWorkerEnv() sets every variable presets pass to kanban mcp", () => {
  const env = encodeWorkerEnv(FULL);
  for (const name of WORKER_ENV) {
    if (name !== WORKER_VARS.socket) assert.ok(env[name], name);
  }
  assert.equal(env["KANBAN_RUN"], "12");
  assert.equal(env["KANBAN_PROMPT_FILE"], FULL.promptFile);
});

Deno.test("encodeWorkerEnv() gives a socket worker KANBAN_SOCKET and no KANBAN_DB", () => {
  const viaSocket = { ...FULL, db: null, socket: "/home/me/.kanban/logs/default/sockets/a.sock" };
  const env = encodeWorkerEnv(viaSocket);
  assert.equal(WORKER_VARS.db in env, false);
  assert.equal(env[WORKER_VARS.socket], viaSocket.socket);
  assert.ok((WORKER_ENV as readonly string[]).includes(WORKER_VARS.socket));
  assert.deepEqual(decodeWorkerEnv(env), viaSocket);
});

Deno.test("decodeWorkerEnv() treats unset and empty alike, and binds only with task and token", () => {
  const none = decodeWorkerEnv({ KANBAN_TASK: "", PATH: "/bin" });
  assert.ok(Object.values(none).every((v) => v === null));
  assert.equal(workerBindingOf(none), null);
  const half = decodeWorkerEnv({ KANBAN_TOKEN: "x" });
  assert.equal(workerBindingOf(half), null);
  const claimed = decodeWorkerEnv({ KANBAN_TASK: "t_ab", KANBAN_RUN: "3", KANBAN_TOKEN: "x" });
  assert.deepEqual(workerBindingOf(claimed), { task: "t_ab", token: "x", tenant: null });
});

Deno.test("decodeWorkerEnv() refuses a malformed value with an error naming the variable", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ KANBAN_RUN: "abc" }, /^KANBAN_RUN is "abc", which is not a run id/],
    [{ KANBAN_RUN: "0" }, /^KANBAN_RUN is "0"/],
    [{ KANBAN_RUN: "-4" }, /^KANBAN_RUN is "-4"/],
    [{ KANBAN_RUN: "1.5" }, /^KANBAN_RUN is "1.5"/],
    [{ KANBAN_TASK: "all of them" }, /^KANBAN_TASK is "all of them", which is not a task id/],
    [{ KANBAN_TASK: "t_1\nrm -rf" }, /^KANBAN_TASK is "t_1\\nrm -rf"/],
    [{ KANBAN_LEASE_MS: "2m" }, /^KANBAN_LEASE_MS is "2m", which is not a lease length/],
  ];
  for (const [env, message] of cases) {
    assert.throws(() => decodeWorkerEnv(env), (err: unknown) => {
      assert.ok(err instanceof ValidationError, String(err));
      assert.match(err.message, message);
      assert.equal(err.message.includes("\n"), false, "one line");
      return true;
    });
  }
});

Deno.test("the CLI refuses a malformed worker variable by name, exit 2, before anything runs", async () => {
  using h = await cliHome();
  const cases: [Record<string, string>, string][] = [
    [{ KANBAN_TASK: "every task", KANBAN_TOKEN: "x" }, "KANBAN_TASK"],
    [{ KANBAN_TASK: "t_ab", KANBAN_RUN: "two", KANBAN_TOKEN: "x" }, "KANBAN_RUN"],
  ];
  for (const [env, name] of cases) {
    for (const verb of [["list"], ["complete", "--summary", "s"], ["skills", "list"]]) {
      const r = await h.run([...verb, "--json"], env);
      assert.equal(r.code, 2, `${verb.join(" ")} with ${name}: ${r.stdout}${r.stderr}`);
      const err = r.json<{ error: { code: string; message: string } }>().error;
      assert.equal(err.code, "invalid_input");
      assert.match(err.message, new RegExp(`^${name} is "`));
    }
  }
  assert.equal((await h.run(["list", "--json"])).code, 0, "a person's shell is unaffected");
});
