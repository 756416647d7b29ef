/**
 * docs/state_machine.md draws the transition table in mermaid. This test parses the drawing
 * and compares it with TRANSITIONS, so that neither can change without the other.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ACTIONS, START, STATUSES, TRANSITIONS } from "../../lib/store/mod.ts";

const DOC = fileURLToPath(new URL("../../docs/state_machine.md", import.meta.url));
const EDGE = /^(\S+)\s+-->\s+(\S+)\s+:\s+(\S+)$/;

/** drawnEdges returns the `from|to|action` of every edge in the doc's one mermaid block. */
function drawnEdges(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)];
  assert.equal(blocks.length, 1, "the doc has exactly one mermaid block");
  const lines = blocks[0]![1]!.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  assert.equal(lines[0], "stateDiagram-v2");
  const edges: string[] = [];
  for (const line of lines.slice(1)) {
    if (line.startsWith("%%")) continue;
    const m = EDGE.exec(line);
    assert.ok(m, `not an edge line: ${line}`);
    edges.push(`${m[1]}|${m[2]}|${m[3]}`);
  }
  return edges;
}

Deno.test("docs/state_machine.md draws exactly the edges of TRANSITIONS", () => {
  const drawn = drawnEdges(readFileSync(DOC, "utf8"));
  const table = TRANSITIONS.map((e) => `${e.from}|${e.to}|${e.via}`);
  assert.equal(new Set(drawn).size, drawn.length, "no edge is drawn twice");
  const missing = table.filter((e) => !drawn.includes(e));
  const extra = drawn.filter((e) => !table.includes(e));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
  assert.equal(drawn.length, TRANSITIONS.length);
});

Deno.test("docs/state_machine.md uses only known states and actions", () => {
  const known = new Set<string>([START, ...STATUSES]);
  for (const edge of drawnEdges(readFileSync(DOC, "utf8"))) {
    const [from, to, action] = edge.split("|");
    assert.ok(known.has(from!) && known.has(to!), edge);
    assert.ok((ACTIONS as readonly string[]).includes(action!), edge);
  }
});

Deno.test("docs/state_machine.md explains every action and says readiness is derived", () => {
  const doc = readFileSync(DOC, "utf8");
  for (const action of ACTIONS) {
    assert.match(doc, new RegExp(`^\\| \`${action}\` +\\|`, "m"), `no row for ${action}`);
  }
  assert.match(doc, /## Readiness is derived/);
  for (const s of ["todo", "scheduled", "ready"]) assert.match(doc, new RegExp(`- \`${s}\`:`));
});
