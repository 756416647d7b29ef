/** `kanban context ID --prompt [--profile NAME]`: the whole prompt, as a worker would get it. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROTOCOL } from "../../lib/dispatch/prompt.ts";
import { type CliHome, cliHome, create } from "./_cli.ts";

/** workerView is `kanban context ID` as the worker sees it: its task is running. */
async function workerView(h: CliHome, id: string): Promise<string> {
  const text = (await h.run(["context", id, "--context-only"])).stdout;
  assert.match(text, /^status: ready \| /m);
  return text.replace(/^status: ready \| /m, "status: running | ");
}

Deno.test("context --prompt uses the assignee's profile from config.toml", async () => {
  using h = await cliHome();
  writeFileSync(
    join(h.home, "config.toml"),
    '[profiles.coder]\npreset = "codex"\nprompt = "Hello coder.\\n{context}---\\n{protocol}"\n',
  );
  const id = await create(h, "api", "--assignee", "coder", "--body", "build it");
  const context = await workerView(h, id);
  const r = await h.run(["context", id, "--prompt"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, `Hello coder.\n${context}---\n${PROTOCOL}`);
  const json = await h.run(["context", id, "--prompt", "--json"]);
  assert.deepEqual(json.json(), { task: id, profile: "coder", prompt: r.stdout });
  // inside a worker the id defaults to its own task
  const own = await h.run(["context", "--prompt"], { KANBAN_TASK: id, KANBAN_TOKEN: "x" });
  assert.equal(own.stdout, r.stdout);
});

Deno.test("context --prompt without a profile for the task prints the built-in prompt and says so", async () => {
  using h = await cliHome();
  const id = await create(h, "api", "--assignee", "ghost");
  const r = await h.run(["context", id, "--prompt"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /no profile "ghost" in .*config\.toml: showing the built-in prompt/);
  const context = await workerView(h, id);
  assert.equal(r.stdout, `${context}\n${PROTOCOL}`);
  const none = await h.run(["context", await create(h, "loose"), "--prompt"]);
  assert.match(none.stderr, /task t_[0-9a-f]{8} has no assignee: showing the built-in prompt/);
});

Deno.test("context --profile NAME builds another profile's prompt; an unknown one is refused", async () => {
  using h = await cliHome();
  writeFileSync(
    join(h.home, "config.toml"),
    '[profiles.reviewer]\npreset = "claude-code"\nprompt = "Review: {context}"\nmcp = true\n',
  );
  const id = await create(h, "api", "--assignee", "coder");
  const context = await workerView(h, id);
  const r = await h.run(["context", id, "--profile", "reviewer"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `Review: ${context}`);
  const bad = await h.run(["context", id, "--profile", "nobody"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /No profile "nobody" in .*config\.toml/);
});

Deno.test("kanban context ID prints the whole prompt by default; --context-only just the context", async () => {
  using h = await cliHome();
  const id = await create(h, "api", "--body", "build it");
  const full = await h.run(["context", id]);
  assert.equal(full.code, 0);
  assert.equal(full.stdout, (await h.run(["context", id, "--prompt"])).stdout);
  assert.ok(full.stdout.includes(PROTOCOL.trim().split("\n")[0]!), "the protocol is there");
  const bare = await h.run(["context", id, "--context-only"]);
  assert.ok(!bare.stdout.includes(PROTOCOL.trim().split("\n")[0]!));
  assert.match(bare.stdout, /build it/);
  assert.equal((await h.run(["context", id, "--context-only", "--prompt"])).code, 2);
});
