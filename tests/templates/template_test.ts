import assert from "node:assert/strict";
import { ValidationError } from "../../lib/store/mod.ts";
import {
  parseTemplate,
  TEMPLATE_MAX_BYTES,
  TEMPLATE_MAX_INPUTS,
} from "../../lib/templates/template.ts";

/** A template of two roles and three nodes; `extra` lines are added at the end. */
const PIPELINE = `
version = 1
description = "implement, review, release"

[inputs.feature]
description = "what to build"

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
body = "On {{ branch }}. {{notes}}"
role = "coder"
needs = ["gpu"]
priority = "high"
max_runtime = "1h30m"

[[nodes]]
id = "review"
title = "Review {{feature}}"
role = "reviewer"
after = ["implement"]
review = true

[[nodes]]
id = "release"
title = "Release"
after = ["review"]
tenant = "acme"
workspace = "worktree"
skills = ["git"]
max_runtime = 600
`;

function refused(text: string, message: RegExp, file = "pipeline.toml"): void {
  assert.throws(() => parseTemplate(text, file), (err: unknown) => {
    assert.ok(err instanceof ValidationError, String(err));
    assert.match(err.message, message);
    return true;
  });
}

Deno.test("parseTemplate() reads every field, with the defaults filled in", () => {
  const t = parseTemplate(PIPELINE, "/x/templates/pipeline.toml");
  assert.equal(t.name, "pipeline", "the file's name without .toml when the file has no name");
  assert.equal(t.version, 1);
  assert.equal(t.description, "implement, review, release");
  assert.deepEqual(t.inputs, {
    feature: { description: "what to build", required: true, default: null },
    branch: { description: "", required: false, default: "main" },
    notes: { description: "", required: false, default: null },
  });
  assert.deepEqual(t.roles, {
    coder: { description: "", profile: "claude" },
    reviewer: { description: "", profile: null },
  });
  assert.deepEqual(t.nodes.map((n) => n.id), ["implement", "review", "release"]);
  assert.deepEqual(t.nodes[0], {
    id: "implement",
    title: "Implement {{feature}}",
    body: "On {{ branch }}. {{notes}}",
    role: "coder",
    after: [],
    needs: ["gpu"],
    skills: null,
    priority: "high",
    tenant: null,
    workspace: null,
    max_runtime_seconds: 5400,
    review: false,
  });
  assert.equal(t.nodes[1]!.review, true);
  assert.deepEqual(t.nodes[2]!.after, ["review"]);
  assert.equal(t.nodes[2]!.max_runtime_seconds, 600);
  assert.equal(parseTemplate(`name = "named"\n${PIPELINE}`, "x.toml").name, "named");
});

Deno.test("the version comes first: missing, malformed and newer versions are refused", () => {
  refused(
    PIPELINE.replace("version = 1", ""),
    /^pipeline.toml: version is missing: a template begins with version = 1$/,
  );
  refused(PIPELINE.replace("version = 1", 'version = "1"'), /version must be 1, not "1"/);
  // a newer file is refused by its version, not by the fields this kanban does not know
  refused(
    PIPELINE.replace("version = 1", "version = 2\nsomething_new = true"),
    /^pipeline.toml: version 2 is newer than this kanban reads \(version 1\): upgrade kanban/,
  );
});

Deno.test("errors name the file, the node by index and id, and the field", () => {
  const cases: [string, string, RegExp][] = [
    [
      'role = "reviewer"',
      'role = "reviewr"',
      /^pipeline.toml: nodes\[1\] \("review"\).role: no role "reviewr" \(roles: coder, reviewer\)$/,
    ],
    [
      'title = "Review {{feature}}"',
      'title = "Review {{featur}}"',
      /nodes\[1\] \("review"\).title: unknown placeholder \{\{featur\}\} \(inputs: feature, branch, notes\)/,
    ],
    [
      'body = "On {{ branch }}. {{notes}}"',
      'body = "On {{ branch }. {{notes}}"',
      /nodes\[0\] \("implement"\).body: "\{\{ branch \}\. \{\{notes\}\}" starts no placeholder/,
    ],
    ['id = "release"', 'id = "review"', /nodes\[2\] \("review"\).id: nodes\[1\] has this id too/],
    [
      'after = ["review"]',
      'after = ["reveiw"]',
      /nodes\[2\] \("release"\).after: no node "reveiw" \(nodes: implement, review, release\)/,
    ],
    [
      'id = "release"',
      'id = "re lease"',
      /nodes\[2\] \("re lease"\).id: id may hold only letters, digits/,
    ],
    [
      "review = true",
      'review = "yes"',
      /nodes\[1\] \("review"\).review: expected boolean, received string/,
    ],
    ["review = true", "reveiw = true", /nodes\[1\] \("review"\): unknown key "reveiw"/],
    ['title = "Release"', "", /nodes\[2\] \("release"\).title: missing \(a string\)/],
    [
      'max_runtime = "1h30m"',
      'max_runtime = "soon"',
      /nodes\[0\] \("implement"\).max_runtime: .*soon/,
    ],
    [
      '[inputs.branch]\ndefault = "main"',
      '[inputs.branch]\ndefault = "main"\nrequired = true',
      /inputs.branch: has a default, so it is never missing/,
    ],
    [
      "[inputs.notes]",
      '[inputs."no tes"]',
      /^pipeline.toml: inputs."no tes": an input name is a letter/,
    ],
    [
      'profile = "claude"',
      'profile = "claude code"',
      /roles.coder.profile: a profile name holds letters/,
    ],
    [
      'description = "implement, review, release"',
      'descripton = "x"',
      /^pipeline.toml: \(top level\): unknown key "descripton"/,
    ],
  ];
  for (const [from, to, message] of cases) {
    assert.ok(PIPELINE.includes(from), from);
    refused(PIPELINE.replace(from, to), message);
  }
});

Deno.test("a file that is not TOML, or has no nodes, is refused", () => {
  refused("version = 1\n[[nodes]\n", /^pipeline.toml: not valid TOML: /);
  refused("version = 1\n", /nodes: missing \(a list\)/);
  refused("version = 1\nnodes = []\n", /nodes: a template needs at least one \[\[nodes\]\]/);
  refused('version = 1\n[nodes]\nid = "a"\n', /nodes: expected array, received object/);
});

Deno.test("templates keep to their limits: file size, nodes, inputs, value length", () => {
  const node = (i: number) => `[[nodes]]\nid = "n${i}"\ntitle = "node ${i}"\n`;
  const many = "version = 1\n" + Array.from({ length: 201 }, (_, i) => node(i)).join("");
  refused(many, /nodes: 201 nodes; a template has at most 200/);
  const big = "version = 1\n" + node(0) + `body = "${"x".repeat(TEMPLATE_MAX_BYTES)}"\n`;
  refused(big, /larger than 256 KiB, the largest template/);
  const inputs = Array.from({ length: TEMPLATE_MAX_INPUTS + 1 }, (_, i) => `[inputs.i${i}]\n`);
  refused(
    `version = 1\n${inputs.join("")}${node(0)}`,
    /inputs: 51 inputs; a template has at most 50/,
  );
  refused(
    `version = 1\n[inputs.a]\ndefault = "${"x".repeat(20_001)}"\n${node(0)}`,
    /inputs.a.default: default is longer than 20000 characters/,
  );
});
