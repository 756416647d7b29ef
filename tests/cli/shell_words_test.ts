import assert from "node:assert/strict";
import { shellWords } from "../../lib/cli/shell_words.ts";

Deno.test("shellWords splits a command line as a shell would, quotes and escapes kept", () => {
  assert.deepEqual(shellWords("make check"), ["make", "check"]);
  assert.deepEqual(shellWords("  gh  pr\tchecks  "), ["gh", "pr", "checks"]);
  assert.deepEqual(shellWords(`sh -c 'cd {workspace} && make test'`), [
    "sh",
    "-c",
    "cd {workspace} && make test",
  ]);
  assert.deepEqual(shellWords(`echo "a \\"b\\" \\\\ c" it\\'s ''`), [
    "echo",
    'a "b" \\ c',
    "it's",
    "",
  ]);
  assert.deepEqual(shellWords(`a"b"'c'`), ["abc"]);
  assert.deepEqual(shellWords(""), []);
});

Deno.test("shellWords refuses open quotes and unquoted shell operators, saying what to write", () => {
  assert.throws(() => shellWords("sh -c 'make"), /unterminated ' quote/);
  assert.throws(() => shellWords('echo "x'), /unterminated " quote/);
  assert.throws(() => shellWords("make \\"), /a backslash ends the line/);
  for (const line of ["make && make test", "make | tee log", "echo $HOME", "a; b", "x > y"]) {
    assert.throws(() => shellWords(line), /no shell runs these words; .*sh -c '\.\.\.'/, line);
  }
});
