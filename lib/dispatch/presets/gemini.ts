/** Gemini CLI (`@google/gemini-cli`): headless mode with stream-json events. */
import type { Preset } from "./preset.ts";

export const gemini: Preset = {
  // -p is headless mode; --yolo accepts tool calls without asking
  argv: ["gemini", "--yolo", "--output-format", "stream-json", "-p", "{prompt}"],
  mcp: false,
};
