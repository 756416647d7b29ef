/** opencode (`opencode-ai`): `opencode run`, one prompt and exit. */
import type { Preset } from "./preset.ts";

export const opencode: Preset = {
  argv: ["opencode", "run", "{prompt}"],
  mcp: false,
};
