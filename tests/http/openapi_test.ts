import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { appSetup } from "./_app.ts";

type Json = Record<string, unknown>;

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, out));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

Deno.test("the OpenAPI document covers every route the app answers, and nothing else", async () => {
  await using a = appSetup();
  const doc = await a.ok<Json>("GET", "/api/v1/openapi.json");
  assert.equal(doc["openapi"], "3.1.0");
  const documented = new Set<string>();
  for (const [path, ops] of Object.entries(doc["paths"] as Record<string, Json>)) {
    for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${path}`);
  }
  const served = new Set(
    a.app.routes.filter((r) => r.method !== "ALL")
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
  );
  assert.deepEqual([...served].sort(), [...documented].sort());
  assert.ok(served.has("GET /api/v1/events"));
  assert.ok(served.size >= 25);
});

Deno.test("every operation has a unique id, its parameters, and references that resolve", async () => {
  await using a = appSetup();
  const doc = await a.ok<Json>("GET", "/api/v1/openapi.json");
  const schemas = (doc["components"] as Json)["schemas"] as Json;
  for (const ref of refs(doc)) {
    const name = ref.replace("#/components/schemas/", "");
    assert.ok(name in schemas, `${ref} does not resolve`);
  }
  const ids = new Set<string>();
  for (const [path, ops] of Object.entries(doc["paths"] as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const id = op["operationId"] as string;
      assert.ok(!ids.has(id), `operationId ${id} twice`);
      ids.add(id);
      const params = (op["parameters"] as Json[]).filter((p) => p["in"] === "path");
      assert.deepEqual(
        params.map((p) => p["name"]),
        [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]),
        `${method} ${path}`,
      );
      const responses = op["responses"] as Json;
      assert.ok(Object.keys(responses).some((s) => s.startsWith("2") || s === "303"));
      if (path.startsWith("/api/")) assert.ok("401" in responses && "403" in responses);
      if (method === "post" && op["requestBody"]) {
        const body = (op["requestBody"] as Json)["content"] as Json;
        assert.ok("application/json" in body);
      }
    }
  }
  const create = schemas["CreateBody"] as Json;
  assert.deepEqual(create["required"], ["title"]);
  assert.equal(create["additionalProperties"], false);
  assert.ok("assignee" in (create["properties"] as Json));
});

Deno.test("docs/http.md mentions every route of the API", async () => {
  await using a = appSetup();
  const doc = await a.ok<Json>("GET", "/api/v1/openapi.json");
  const text = readFileSync(new URL("../../docs/http.md", import.meta.url), "utf8");
  for (const [path, ops] of Object.entries(doc["paths"] as Record<string, Json>)) {
    for (const method of Object.keys(ops)) {
      const short = path.replace(/^\/api\/v1/, "");
      assert.ok(
        text.includes(`${method.toUpperCase()} ${short}`) ||
          text.includes(`${method.toUpperCase()} ${path}`),
        `docs/http.md lacks ${method.toUpperCase()} ${path}`,
      );
    }
  }
});
