/** GitHub Copilot CLI (`@github/copilot`): one prompt, no questions, JSON output. */
import type { Preset } from "./preset.ts";

export const copilot: Preset = {
  argv: ["copilot", "-p", "{prompt}", "--yolo", "--no-ask-user", "--output-format", "json"],
  mcp: false,
};
