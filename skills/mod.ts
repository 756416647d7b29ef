/**
 * The agent skills kanban ships: skills/<name>/SKILL.md, embedded in the binary as text (a
 * text import works under deno run, deno check, bun run and in the compiled binary).
 */
import worker from "./kanban-worker/SKILL.md" with { type: "text" };
import orchestrator from "./kanban-orchestrator/SKILL.md" with { type: "text" };

export interface Skill {
  /** The frontmatter `name`, which is also the skill's folder name. */
  name: string;
  /** The frontmatter `description`: when an agent should use the skill. */
  description: string;
  /** The whole SKILL.md, byte for byte. */
  text: string;
}

/** frontmatter reads the one-line `key: value` fields of a SKILL.md's YAML frontmatter. */
export function frontmatter(text: string): Record<string, string> {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(text);
  if (!m) throw new Error("SKILL.md has no frontmatter");
  const fields: Record<string, string> = {};
  for (const line of m[1]!.split("\n")) {
    const kv = /^([a-z-]+):\s*(.*)$/.exec(line);
    if (kv) fields[kv[1]!] = kv[2]!;
  }
  return fields;
}

function skill(text: string): Skill {
  const f = frontmatter(text);
  return { name: f["name"] ?? "", description: f["description"] ?? "", text };
}

/** SKILLS in the order `kanban skills list` shows them. */
export const SKILLS: readonly Skill[] = [skill(worker), skill(orchestrator)];
