/** Qwen Code (`@qwen-code/qwen-code`): headless mode with stream-json events. */
import type { Preset } from "./preset.ts";

export const qwen: Preset = {
  argv: ["qwen", "--yolo", "--output-format", "stream-json", "{prompt}"],
  mcp: false,
};
