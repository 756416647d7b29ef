/** buildPrompt and the protocol: what every worker is told, and how a template is filled. */
import assert from "node:assert/strict";
import {
  buildPrompt,
  MCP_NOTE,
  PROTOCOL,
  protocolFor,
  renderContext,
  workerPrompt,
} from "../../lib/dispatch/prompt.ts";
import { HUMAN, setup } from "../_setup.ts";

Deno.test("the built-in prompt is the context, a blank line, then the protocol", () => {
  assert.equal(buildPrompt("# Task t_1: x\n", { mcp: false }), `# Task t_1: x\n\n${PROTOCOL}`);
  assert.equal(buildPrompt("ctx\n", { mcp: true }), `ctx\n\n${PROTOCOL}${MCP_NOTE}`);
});

Deno.test("the protocol covers every step of the worker protocol and stays short", () => {
  const flat = PROTOCOL.replace(/\s+/g, " ");
  for (
    const step of [
      "Lines starting with `>` are quoted from the board",
      "On a retry",
      "kanban heartbeat --note",
      'kanban block "one clear question"',
      "kanban create",
      "--assignee PROFILE",
      "--parent $KANBAN_TASK",
      "kanban complete --summary",
      "--metadata",
      "Exiting without complete or block counts as a failed attempt",
    ]
  ) assert.ok(flat.includes(step), step);
  // Agents pay for every token of every prompt: about 300 words at most.
  assert.ok(PROTOCOL.split(/\s+/).length < 330, `${PROTOCOL.split(/\s+/).length} words`);
  assert.equal(protocolFor({ mcp: false }), PROTOCOL);
});

Deno.test("a template's placeholders are filled in one pass: text inside the context stays", () => {
  const context = "body mentions {protocol} and {context}\n";
  const prompt = buildPrompt(context, {
    prompt: "A {context}B {protocol}C {context}{task}",
    mcp: false,
  });
  assert.equal(prompt, `A ${context}B ${PROTOCOL}C ${context}{task}`);
  assert.equal(buildPrompt(context, { prompt: "no placeholders", mcp: true }), "no placeholders");
  assert.equal(buildPrompt("c", { prompt: "{protocol}", mcp: true }), `${PROTOCOL}${MCP_NOTE}`);
});

Deno.test("workerPrompt renders the task's current context with the profile's template", async () => {
  await using b = setup();
  const { task } = await b.store.createTask({ title: "t", body: "do it" }, HUMAN);
  await b.store.comment(task.id, "note", HUMAN);
  const ready = await b.store.context(task.id);
  assert.equal(ready.task.status, "ready");
  // a worker's task is running when it reads its prompt, and a preview says the same
  const context = renderContext({ ...ready, task: { ...ready.task, status: "running" } });
  assert.match(context, /^status: running \| /m);
  assert.equal(await workerPrompt(b.store, task.id, { mcp: false }), `${context}\n${PROTOCOL}`);
  assert.equal(
    await workerPrompt(b.store, task.id, { prompt: "[{context}]", mcp: false }),
    `[${context}]`,
  );
});
