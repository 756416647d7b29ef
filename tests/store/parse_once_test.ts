/**
 * A write validates its input once: what a surface parsed with the store's schema, or with an
 * extension of it made by extendInput(), the store's parse() returns as it is.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { CompleteSchema, extendInput, parse, ValidationError } from "../../lib/store/mod.ts";
import { CompleteToolInput } from "../../lib/tools/complete.ts";
import { CompleteBody } from "../../lib/http/schemas.ts";

/** counting is a schema whose field counts how often it is checked. */
function counting() {
  const seen = { n: 0 };
  const base = z.object({ a: z.string().refine(() => ++seen.n > 0) });
  return { seen, base };
}

Deno.test("parse() does not check again what the same schema or an extension of it parsed", () => {
  const { seen, base } = counting();
  const ext = extendInput(base, { id: z.string().optional() }, { a: "the a" });
  const value = parse(ext, { a: "x", id: "t_1" }, "input");
  assert.equal(seen.n, 1);
  assert.equal(parse(base, value, "input"), value, "the store takes it as it is");
  assert.equal(seen.n, 1, "and does not check it again");
  const own = parse(base, { a: "y" }, "input");
  assert.equal(parse(base, own, "input"), own);
  assert.equal(seen.n, 2);
  // a look-alike object that no parse returned is checked
  parse(base, { ...value }, "input");
  assert.equal(seen.n, 3);
});

Deno.test("parse() checks a value parsed by an unrelated schema", () => {
  const { seen, base } = counting();
  const other = z.object({ a: z.string() });
  const value = parse(other, { a: "x" }, "input");
  parse(base, value, "input");
  assert.equal(seen.n, 1);
});

Deno.test("extendInput() is strict and may not replace the store's own fields", () => {
  const { base } = counting();
  const ext = extendInput(base, {});
  assert.throws(() => parse(ext, { a: "x", b: 1 }, "input"), ValidationError);
  assert.throws(
    () => extendInput(base, { a: z.number() }),
    /a would replace the store's own fields/,
  );
});

Deno.test("the complete tool and the API's completion body are the store's schema", () => {
  for (const schema of [CompleteToolInput, CompleteBody]) {
    const value = parse(schema, { summary: "done", metadata: { n: 1 } }, "input");
    assert.equal(parse(CompleteSchema, value, "completion"), value);
    assert.throws(
      () => parse(schema, { summary: "x".repeat(20_001) }, "input"),
      /summary/,
      "the store's limits apply at the surface",
    );
  }
});
