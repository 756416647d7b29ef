/**
 * docs/export-format.md documents every field of every record, in the order the stream writes
 * them: this fails when lib/store/_transfer_format.ts changes and the page does not.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { FIELDS, FORMAT_VERSION, KINDS } from "../../lib/store/_transfer_format.ts";

const DOC = readFileSync(new URL("../../docs/export-format.md", import.meta.url), "utf8");

Deno.test("docs/export-format.md lists each record's fields in the stream's order", () => {
  for (const kind of KINDS) {
    const section = DOC.split(/^### /m).find((s) => s.startsWith(`\`${kind}\`\n`));
    assert.ok(section, `no section for ${kind}`);
    const documented = [...section.matchAll(/^\| `([a-z0-9_]+)` /gm)].map((m) => m[1]);
    assert.deepEqual(documented, FIELDS[kind].map(([name]) => name), kind);
  }
  assert.match(DOC, new RegExp(`describes\\s+\\*\\*version ${FORMAT_VERSION}\\*\\*`));
});
