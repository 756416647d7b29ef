/**
 * docs/cli-reference.md is generated from the command tree (scripts/cli_reference.ts); these
 * tests fail when a verb, argument or option changes and the file was not regenerated.
 */
import { readFileSync } from "node:fs";
import assert from "node:assert/strict";
import { cliReference, REFERENCE_PATH } from "../../scripts/cli_reference.ts";
import { cliHome } from "./_cli.ts";

const REGENERATE = ".tools/deno run -A scripts/cli_reference.ts --write";

Deno.test("docs/cli-reference.md is exactly what scripts/cli_reference.ts generates", () => {
  const fresh = cliReference();
  const onDisk = readFileSync(REFERENCE_PATH, "utf8");
  if (onDisk === fresh) return;
  const a = onDisk.split("\n");
  const b = fresh.split("\n");
  const i = a.findIndex((line, n) => line !== b[n]);
  assert.fail(
    `docs/cli-reference.md is out of date (run ${REGENERATE}); first difference at line ${
      i + 1
    }:\n  file:      ${a[i] ?? "(end of file)"}\n  generated: ${b[i] ?? "(end of output)"}`,
  );
});

Deno.test("the CLI reference has a section for every verb and option that --help lists", async () => {
  using h = await cliHome({ init: false });
  const reference = cliReference();
  const top = await h.run(["--help"]);
  assert.equal(top.code, 0);
  const verbs = top.stdout.split("\n").slice(top.stdout.split("\n").indexOf("Commands:") + 1)
    .map((line) => /^ {2}([a-z][a-z-]*)/.exec(line)?.[1])
    .filter((v): v is string => v !== undefined && v !== "help");
  assert.ok(verbs.length > 30, `too few verbs parsed from --help: ${verbs.join(" ")}`);
  for (const verb of verbs) {
    assert.match(reference, new RegExp(`^## kanban ${verb}$`, "m"), `no section for ${verb}`);
    const help = await h.run([verb, "--help"]);
    assert.equal(help.code, 0, `${verb} --help`);
    const section = reference.split(/^## /m).find((s) => s.startsWith(`kanban ${verb}\n`))!;
    for (const flag of help.stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)) {
      if (flag[1] === "--help" || /^Global Options:/m.test(help.stdout.split(flag[0])[0]!)) {
        continue;
      }
      assert.ok(section.includes(flag[1]!), `kanban ${verb}: ${flag[1]} is not in its section`);
    }
  }
});
