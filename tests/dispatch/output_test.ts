import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  LAST_WORDS,
  lastWords,
  logLines,
  runOutput,
  tailLines,
  usageOf,
} from "../../lib/dispatch/output.ts";
import type { Preset } from "../../lib/dispatch/presets/mod.ts";
import { emptyUsage } from "../../lib/store/mod.ts";
import { tempDir } from "../_setup.ts";
import { harness } from "./_harness.ts";

const JSONISH: Preset = {
  argv: ["x"],
  mcp: false,
  readable: (line) => {
    const o = JSON.parse(line);
    return o.type === "noise" ? null : `said: ${o.text}`;
  },
  usage: () => {
    throw new Error("a parser bug");
  },
};

Deno.test("lastWords() keeps the last non-empty lines, capped, as a person reads them", () => {
  const lines = ["first", "", "second", "   ", `${"x".repeat(1000)}`, "", ""];
  const said = lastWords(lines, undefined)!;
  assert.equal(said.split(" | ").length, LAST_WORDS.lines);
  assert.ok(said.startsWith("first | second | xxx"));
  assert.ok(said.length < LAST_WORDS.lines * (LAST_WORDS.chars + 3));
  assert.equal(lastWords(["", "  "], undefined), null);
});

Deno.test("lastWords() reads machine output through the preset and strips terminal escapes", () => {
  const lines = [
    '{"type":"text","text":"working"}',
    '{"type":"text","text":"\\u001b[31mfatal\\u001b[0m: no key\\u0007"}',
    '{"type":"noise"}',
    "not json at all",
  ];
  assert.equal(lastWords(lines, JSONISH), "said: working | said: fatal: no key | not json at all");
});

Deno.test("usageOf() turns a throwing parser into no usage, never a failed run", () => {
  assert.equal(usageOf(['{"a":1}'], JSONISH), null);
  assert.equal(usageOf(['{"a":1}'], undefined), null);
  const counting: Preset = { argv: ["x"], mcp: false, usage: () => emptyUsage("output") };
  assert.deepEqual(usageOf([], counting), emptyUsage("output"));
});

Deno.test("logLines() reads the rotated part first, and nothing for a missing log", () => {
  using tmp = tempDir();
  const log = join(tmp.dir, "run-1.log");
  writeFileSync(`${log}.1`, "old 1\nold 2\n");
  writeFileSync(log, "new 1\n");
  assert.deepEqual(logLines(log), ["old 1", "old 2", "new 1", ""]);
  assert.deepEqual(logLines(join(tmp.dir, "gone.log")), []);
  assert.deepEqual(logLines(null), []);
});

Deno.test("tailLines() reads only a log's end, and the rotated part's when the log was just rotated", () => {
  using tmp = tempDir();
  const log = join(tmp.dir, "run-1.log");
  writeFileSync(log, `${"x".repeat(100_000)}\nsecond to last\nlast\n`);
  const tail = tailLines(log, 1024);
  assert.deepEqual(tail.slice(-3), ["second to last", "last", ""]);
  assert.ok(tail[0]!.length < 1024, "the first line is cut short, not read whole");
  writeFileSync(`${log}.1`, "before rotation\n");
  writeFileSync(log, "");
  assert.deepEqual(tailLines(log), ["before rotation", ""]);
});

Deno.test("runOutput() reads usage from the log and the run's own files, last words only for a failed run", () => {
  using tmp = tempDir();
  const log = join(tmp.dir, "run-7.log");
  writeFileSync(log, "working\nError: out of quota\n");
  writeFileSync(join(tmp.dir, "run-7.usage.json"), '{"input": 42}');
  const fromFile: Preset = {
    argv: ["x"],
    mcp: false,
    usage: (lines, file) => {
      const input = JSON.parse(file?.("usage.json") ?? "{}").input;
      return { ...emptyUsage("output"), input_tokens: input, turns: lines.length };
    },
  };
  assert.deepEqual(runOutput(log, fromFile, false), {
    usage: { ...emptyUsage("output"), input_tokens: 42, turns: 3 },
    lastWords: null,
  });
  assert.equal(runOutput(log, fromFile, true).lastWords, "working | Error: out of quota");
  assert.deepEqual(runOutput(log, undefined, false), { usage: null, lastWords: null });
  assert.deepEqual(runOutput(null, fromFile, true).lastWords, null);
});

Deno.test("a crashed run's error carries the CLI's last words; a stalled one's does not", async () => {
  await using h = await harness({
    crasher:
      `command = ["/bin/sh", "-c", "echo 'starting'; echo 'Error: config.json is not valid JSON' >&2; exit 1"]`,
    quitter: `command = ["/bin/sh", "-c", "echo 'I finished, I think'"]`,
  });
  const crash = await h.create("crash", "crasher");
  const quit = await h.create("quit", "quitter");
  await h.until(async () =>
    (await h.store.listRuns(crash.id)).some((r) => !r.open) &&
    (await h.store.listRuns(quit.id)).some((r) => !r.open) && h.dispatcher.workerCount === 0
  );
  const [c] = await h.store.listRuns(crash.id);
  assert.equal(c!.outcome, "crashed");
  assert.equal(c!.error, "exit code 1: starting | Error: config.json is not valid JSON");
  assert.equal(
    (await h.store.getTask(crash.id)).last_error,
    "crashed: exit code 1: starting | Error: config.json is not valid JSON",
  );
  const [q] = await h.store.listRuns(quit.id);
  assert.equal(q!.error, "exited 0 without complete or block: I finished, I think");
  assert.equal(c!.usage, null, "a command profile's output is not read for usage");
});
