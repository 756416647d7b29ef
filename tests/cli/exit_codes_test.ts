import assert from "node:assert/strict";
import { exitCodeOf } from "../../lib/cli/exit_codes.ts";
import { ConfigError } from "../../lib/config/config.ts";
import { UsageError } from "../../lib/cli/context.ts";
import { KanbanError, NotFoundError, ValidationError } from "../../lib/errors.ts";

Deno.test("exitCodeOf() gives 2 to mistakes in the call and 1 to every refusal", () => {
  assert.equal(exitCodeOf(new ValidationError("bad").code), 2);
  assert.equal(exitCodeOf(new UsageError("bad").code), 2);
  assert.equal(exitCodeOf(new ConfigError("bad").code), 2);
  assert.equal(exitCodeOf(new NotFoundError("gone").code), 1);
  assert.equal(exitCodeOf("illegal_transition"), 1);
  assert.equal(exitCodeOf("some_code_nobody_mapped"), 1);
});

Deno.test("errors carry a code and no exit code", () => {
  const err = new KanbanError("x", "message");
  assert.deepEqual(Object.keys(err).sort(), ["code", "name"]);
});
