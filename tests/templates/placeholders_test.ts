import assert from "node:assert/strict";
import { fill, inputsUsed, pieces } from "../../lib/templates/placeholders.ts";

Deno.test("pieces() splits text into literal text and the inputs its placeholders name", () => {
  assert.deepEqual(pieces("Ship {{version}} to {{ env }}!"), [
    { text: "Ship " },
    { input: "version" },
    { text: " to " },
    { input: "env" },
    { text: "!" },
  ]);
  assert.deepEqual(pieces(""), []);
  assert.deepEqual(pieces("no placeholders } }} {"), [{ text: "no placeholders } }} {" }]);
});

Deno.test("{{{{ is a literal {{, and }} alone is plain text", () => {
  assert.deepEqual(pieces("{{{{x}} and {{{{{{a}}"), [{ text: "{{x}} and {{" }, { input: "a" }]);
  assert.equal(fill("{{{{name}} is {{name}}", new Map([["name", "Ada"]])), "{{name}} is Ada");
});

Deno.test("a {{ that starts no placeholder is an error saying how to write one", () => {
  for (const bad of ["{{", "{{ }}", "{{1x}}", "{{a b}}", "{{{a}}", "{{a}", "{{na.me}}"]) {
    assert.throws(
      () => pieces(`x ${bad} y`),
      /starts no placeholder: write \{\{input_name\}\}.*\{\{\{\{ for a literal "\{\{"/,
    );
  }
});

Deno.test("inputsUsed() lists each input once, in order", () => {
  assert.deepEqual(inputsUsed("{{b}} {{a}} {{b}} {{{{c}}"), ["b", "a"]);
});

Deno.test("fill() puts values in, and leaves a placeholder without a value as written", () => {
  const values = new Map([["a", "A {{b}}"]]);
  assert.equal(fill("{{a}}/{{ b }}", values), "A {{b}}/{{b}}");
});
