/** The presets, by name: the agent CLIs kanban knows how to run (docs/agents.md). */
import { claudeCode } from "./claude_code.ts";
import { codex } from "./codex.ts";
import { copilot } from "./copilot.ts";
import { gemini } from "./gemini.ts";
import { hermes } from "./hermes.ts";
import { opencode } from "./opencode.ts";
import type { Preset } from "./preset.ts";
import { qwen } from "./qwen.ts";

export { type Launch, type LaunchContext, type Preset, WORKER_ENV } from "./preset.ts";

/** PRESET_NAMES: the values `preset = "..."` takes in config.toml. */
export const PRESET_NAMES = [
  "claude-code",
  "codex",
  "copilot",
  "gemini",
  "hermes",
  "opencode",
  "qwen",
] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PRESETS: Record<PresetName, Preset> = {
  "claude-code": claudeCode,
  codex,
  copilot,
  gemini,
  hermes,
  opencode,
  qwen,
};

/** MCP_PRESETS: the presets whose CLI can be handed kanban's MCP server for one run. */
export const MCP_PRESETS: readonly PresetName[] = PRESET_NAMES.filter((n) => PRESETS[n].mcp);
