import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ValidationError } from "../../lib/store/mod.ts";
import { parseTemplate, readTemplate } from "../../lib/templates/template.ts";
import { checkTemplate, graphKey, graphOf, renderTemplate } from "../../lib/templates/render.ts";

const TEXT = `
version = 1
name = "ship"

[inputs.feature]
[inputs.branch]
default = "main"
[inputs.notes]
required = false

[roles.coder]
profile = "claude"
[roles.reviewer]

[[nodes]]
id = "implement"
title = "Implement {{feature}}"
body = "On {{branch}}: {{notes}} {{{{literal}}"
role = "coder"
priority = "high"

[[nodes]]
id = "review"
title = "Review {{feature}}"
role = "reviewer"
after = ["implement"]
tenant = "acme"
`;

const T = parseTemplate(TEXT, "ship.toml");

function refused(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("renderTemplate() fills in inputs and binds roles to profiles", () => {
  const r = renderTemplate(T, {
    inputs: { feature: "login", notes: "be quick" },
    roles: { reviewer: "codex" },
    tenant: "worker-tenant",
  });
  assert.deepEqual(r.missing, []);
  assert.deepEqual(r.inputs, [
    { name: "feature", value: "login", source: "given" },
    { name: "branch", value: "main", source: "default" },
    { name: "notes", value: "be quick", source: "given" },
  ]);
  assert.deepEqual(r.roles, [
    { name: "coder", profile: "claude", source: "file" },
    { name: "reviewer", profile: "codex", source: "given" },
  ]);
  assert.deepEqual(r.nodes[0], {
    id: "implement",
    role: "coder",
    after: [],
    task: {
      title: "Implement login",
      body: "On main: be quick {{literal}}",
      assignee: "claude",
      tenant: "worker-tenant",
      review_required: false,
      priority: "high",
    },
  });
  assert.equal(r.nodes[1]!.task.assignee, "codex");
  assert.equal(r.nodes[1]!.task.tenant, "acme", "a node's own tenant wins");
  assert.deepEqual(graphOf(r, "ship:1"), {
    key: "ship:1",
    nodes: r.nodes.map((n) => ({ ref: n.id, task: n.task, after: n.after })),
  });
  // a --role over the file's profile
  assert.equal(renderTemplate(T, { roles: { coder: "aider" } }).nodes[0]!.task.assignee, "aider");
});

Deno.test("what is missing is listed, its placeholders left as written", () => {
  const r = renderTemplate(T);
  assert.deepEqual(r.missing, ['input "feature"', 'role "reviewer"']);
  assert.deepEqual(r.inputs[0], { name: "feature", value: null, source: "missing" });
  assert.equal(r.inputs[2]!.value, "", "an optional input without a default is empty");
  assert.equal(r.nodes[0]!.task.title, "Implement {{feature}}");
  assert.equal(r.nodes[1]!.task.assignee, null);
});

Deno.test("an input or role the template does not declare is refused, naming those it has", () => {
  refused(
    () => renderTemplate(T, { inputs: { featur: "x" } }),
    /^ship.toml: no input "featur" \(inputs: feature, branch, notes\)$/,
  );
  refused(
    () => renderTemplate(T, { roles: { reviewr: "codex" } }),
    /^ship.toml: no role "reviewr" \(roles: coder, reviewer\)$/,
  );
  refused(
    () => renderTemplate(T, { roles: { coder: "two words" } }),
    /role "coder": profile "two words" is not a name/,
  );
  refused(
    () => renderTemplate(T, { inputs: { feature: "x".repeat(20_001) } }),
    /input "feature": the value is longer than 20000 characters/,
  );
});

Deno.test("checkTemplate() finds what only the filled-in graph shows, naming node and field", () => {
  const cases: [string, string, RegExp][] = [
    [
      'after = ["implement"]',
      'after = ["implement"]\n[[nodes]]\nid = "x"\ntitle = "x"\nafter = ["y"]\n[[nodes]]\nid = "y"\ntitle = "y"\nafter = ["x"]',
      /^ship.toml: the nodes wait for each other in a cycle: "x" after "y" after "x"/,
    ],
    [
      'priority = "high"',
      'priority = "asap"',
      /^ship.toml: nodes\[0\] \("implement"\): priority must be a whole number/,
    ],
    [
      'tenant = "acme"',
      'tenant = "a b"',
      /^ship.toml: nodes\[1\] \("review"\): tenant may hold only/,
    ],
    [
      'tenant = "acme"',
      'needs = ["has space"]',
      /nodes\[1\] \("review"\): needs.0: label may hold only/,
    ],
    [
      'tenant = "acme"',
      'workspace = "somewhere"',
      /nodes\[1\] \("review"\): workspace "somewhere" is not scratch, worktree or dir/,
    ],
    [
      'title = "Review {{feature}}"',
      'title = "Review\\nit"',
      /nodes\[1\] \("review"\): title must be one line/,
    ],
  ];
  for (const [from, to, message] of cases) {
    assert.ok(TEXT.includes(from), from);
    refused(() => checkTemplate(parseTemplate(TEXT.replace(from, to), "ship.toml")), message);
  }
  assert.deepEqual(checkTemplate(T).missing, ['input "feature"', 'role "reviewer"']);
});

Deno.test("graphKey() puts the template's name before the key, and keeps to the key's rules", () => {
  assert.equal(graphKey("ship", " 1.4 "), "ship:1.4");
  refused(() => graphKey("ship", " "), /The key is empty/);
  refused(() => graphKey("ship", "a/b"), /contains "\/"/);
  refused(() => graphKey("ship", "k".repeat(194)), /The key is longer than 193 characters/);
});

Deno.test("the example templates in docs/templates validate", () => {
  const dir = fileURLToPath(new URL("../../docs/templates/", import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith(".toml")).sort();
  assert.deepEqual(files, ["release.toml", "research.toml"]);
  for (const f of files) {
    const t = readTemplate(`${dir}${f}`);
    assert.equal(`${t.name}.toml`, f);
    checkTemplate(t);
  }
});

Deno.test("docs/templates.md: its example validates, and its errors are the ones kanban gives", () => {
  const doc = readFileSync(
    fileURLToPath(new URL("../../docs/templates.md", import.meta.url)),
    "utf8",
  );
  const toml = /```toml\n([\s\S]*?)```/.exec(doc)![1]!;
  const text = toml.replace('name = "release"\n', "");
  const ok = checkTemplate(parseTemplate(text, "release.toml"));
  assert.deepEqual(ok.nodes.map((n) => n.id), ["implement", "review", "release"]);
  const shown = /```\n(kanban: release\.toml: [\s\S]*?)```/.exec(doc)![1]!.trim().split("\n");
  const mistakes: [string, string][] = [
    ['role = "reviewer"', 'role = "reviewr"'],
    ['title = "Implement: {{change}}"', 'title = "Implement: {{chnage}}"'],
    ['workspace = "worktree"', 'workspace = "worktree"\nafter = ["review"]'],
  ];
  assert.equal(shown.length, mistakes.length);
  mistakes.forEach(([from, to], i) => {
    assert.ok(text.includes(from), from);
    assert.throws(
      () => checkTemplate(parseTemplate(text.replace(from, to), "release.toml")),
      (err: Error) => `kanban: ${err.message}` === shown[i],
    );
  });
});
