import assert from "node:assert/strict";
import { argvText } from "../../lib/store/gate_text.ts";
import { shellWords } from "../../lib/cli/shell_words.ts";

Deno.test("argvText writes an argv as a command line that shellWords splits back into it", () => {
  assert.equal(argvText(["make", "check"]), "make check");
  assert.equal(
    argvText(["sh", "-c", "cd {workspace} && make test"]),
    "sh -c 'cd {workspace} && make test'",
  );
  for (
    const argv of [
      ["make", "check"],
      ["sh", "-c", "cd {workspace} && gh pr checks"],
      ["echo", "it's", "", "a  b", 'say "hi"', "back\\slash", "$HOME", "<b>x</b>"],
    ]
  ) {
    assert.deepEqual(shellWords(argvText(argv)), argv, argvText(argv));
  }
});
