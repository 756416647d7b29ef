/** Hermes (`hermes-agent`, on PyPI): one query, no approval prompts. */
import type { Preset } from "./preset.ts";

export const hermes: Preset = {
  argv: ["hermes", "chat", "--yolo", "-q", "{prompt}"],
  mcp: false,
};
