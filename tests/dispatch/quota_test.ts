/**
 * The generic reading of a failed run's output for rate limits, exhausted quotas and
 * authentication failures, and the backoff of a hold when no reset time was reported.
 */
import assert from "node:assert/strict";
import {
  classifyFailure,
  classifyLive,
  classifyRun,
  holdBackoffMs,
  resetAt,
  TAIL_LINES,
} from "../../lib/dispatch/quota.ts";

const NOW = Date.UTC(2026, 11, 6, 12, 0, 0);

Deno.test("quota: a 429 with retry-after seconds is a rate limit that resets then", () => {
  const got = classifyFailure(
    ["working…", "Error: 429 Too Many Requests", "retry-after: 30"],
    1,
    NOW,
  );
  assert.deepEqual(got, {
    kind: "rate_limit",
    reset_at: NOW + 30_000,
    message: "Error: 429 Too Many Requests",
  });
});

Deno.test("quota: an exhausted quota with an ISO reset time", () => {
  const got = classifyFailure(
    ["You exceeded your current quota; resets at 2026-12-06T17:00:00Z"],
    1,
    NOW,
  );
  assert.equal(got?.kind, "quota");
  assert.equal(got?.reset_at, Date.UTC(2026, 11, 6, 17, 0, 0));
});

Deno.test("quota: 'try again in 5 minutes' and resets_in_seconds are delays from now", () => {
  assert.equal(resetAt("Rate limit reached. Please try again in 5 minutes.", NOW), NOW + 300_000);
  assert.equal(resetAt('{"error":{"resets_in_seconds": 90}}', NOW), NOW + 90_000);
  assert.equal(resetAt("retry in 1.5h", NOW), NOW + 5_400_000);
  assert.equal(resetAt("retry after 250ms", NOW), NOW + 250);
});

Deno.test("quota: epoch seconds and a time of day (the next such local time)", () => {
  assert.equal(resetAt('"reset_at": 1765040400', NOW), 1765040400_000);
  const at = resetAt("5-hour limit reached · resets 3pm", NOW)!;
  const d = new Date(at);
  assert.equal(d.getHours(), 15);
  assert.equal(d.getMinutes(), 0);
  assert.ok(at > NOW && at <= NOW + 86_400_000, "the next 3pm within a day");
  const half = new Date(resetAt("usage limit: resets at 9:30am", NOW)!);
  assert.deepEqual([half.getHours(), half.getMinutes()], [9, 30]);
});

Deno.test("quota: no reset time reported gives no reset_at; nonsense times are ignored", () => {
  const got = classifyFailure(["API error: rate_limit_exceeded"], 1, NOW);
  assert.deepEqual(got, { kind: "rate_limit", message: "API error: rate_limit_exceeded" });
  assert.equal(resetAt("resets 13pm", NOW), undefined);
  assert.equal(resetAt("resets 25:00", NOW), undefined);
  assert.equal(
    resetAt("resets at 2020-01-01T00:00:00Z", NOW),
    undefined,
    "a past ISO time is no reset",
  );
});

Deno.test("quota: a 401 or invalid key is an auth failure, before a rate limit on the same run", () => {
  for (
    const line of [
      "401 Unauthorized",
      "Error: Invalid API key provided",
      "authentication_error: invalid x-api-key",
    ]
  ) {
    assert.equal(classifyFailure([line], 1, NOW)?.kind, "auth", line);
  }
  const both = classifyFailure(
    ["429 Too Many Requests", "retry-after: 5", "then 401 Unauthorized"],
    1,
    NOW,
  );
  assert.deepEqual(
    both,
    { kind: "auth", message: "then 401 Unauthorized" },
    "auth has no reset time",
  );
});

Deno.test("quota: exit 0, ordinary crashes and old lines are not account trouble", () => {
  assert.equal(classifyFailure(["429 Too Many Requests"], 0, NOW), null);
  assert.equal(classifyFailure(["TypeError: x is undefined"], 1, NOW), null);
  const old = ["rate limit exceeded", ...Array.from({ length: TAIL_LINES }, (_, i) => `line ${i}`)];
  assert.equal(classifyFailure(old, 1, NOW), null, "only the tail is read");
  assert.equal(
    classifyFailure(["Too Many Requests"], null, NOW)?.kind,
    "rate_limit",
    "a signal exit is read too",
  );
});

Deno.test("quota: a long line is trimmed in the message", () => {
  const got = classifyFailure(["quota exceeded " + "x".repeat(500)], 1, NOW)!;
  assert.equal(got.message.length, 200);
  assert.ok(got.message.endsWith("…"));
});

Deno.test("quota: a preset's own classifier first, the generic patterns when it finds nothing", () => {
  const own = { classifyFailure: () => ({ kind: "quota" as const, message: "own" }) };
  assert.equal(classifyRun(own, ["429"], 1, NOW)?.message, "own");
  const none = { classifyFailure: () => null };
  assert.equal(classifyRun(none, ["429 Too Many Requests"], 1, NOW)?.kind, "rate_limit");
  assert.equal(classifyRun(undefined, ["429 Too Many Requests"], 1, NOW)?.kind, "rate_limit");
});

Deno.test("quota: backoff without a reset time is 1 min doubling to at most 1 h", () => {
  assert.deepEqual([1, 2, 3, 6, 7, 100].map(holdBackoffMs), [
    60_000,
    120_000,
    240_000,
    1_920_000,
    3_600_000,
    3_600_000,
  ]);
  assert.equal(holdBackoffMs(0), 60_000);
});

/** observed reads the tail of a real CLI's output against the scripted model server's errors. */
function observed(name: string): string[] {
  const url = new URL(`./presets/fixtures/quota/${name}.txt`, import.meta.url);
  return Deno.readTextFileSync(url).split("\n").filter((l) => l !== "");
}

// Observed from the real CLIs (agents/node_modules) against a model server answering every
// request 429 (retry-after: 2; Gemini's RetryInfo 20s) or 401 in each CLI's own API dialect.
Deno.test("quota: codex's 429 after its retries (exit 1) is a rate limit without a reset time", () => {
  const got = classifyFailure(observed("codex-429"), 1, NOW);
  assert.equal(got?.kind, "rate_limit");
  assert.equal(got?.reset_at, undefined);
  assert.match(got!.message, /exceeded retry limit, last status: 429 Too Many Requests/);
});

Deno.test("quota: codex's 401 (exit 1) is an auth failure", () => {
  const got = classifyFailure(observed("codex-401"), 1, NOW);
  assert.equal(got?.kind, "auth");
  assert.match(got!.message, /401 Unauthorized: Incorrect API key provided/);
});

Deno.test("quota: gemini's 401 (exit 145) is an auth failure", () => {
  const got = classifyFailure(observed("gemini-401"), 145, NOW);
  assert.equal(got?.kind, "auth");
  assert.match(got!.message, /API key not valid/);
});

Deno.test("quota: gemini's RESOURCE_EXHAUSTED retries carry the suggested retry time", () => {
  const got = classifyFailure(observed("gemini-429"), 1, NOW);
  assert.equal(got?.kind, "quota", "Gemini says 'check quota'");
  assert.equal(got?.reset_at, NOW + 20_000, "Suggested retry after 20s");
});

Deno.test("quota: claude code's api_retry events show a 429 rate limit and a 401 auth failure", () => {
  assert.equal(classifyFailure(observed("claude-code-429"), 1, NOW)?.kind, "rate_limit");
  const auth = classifyFailure(observed("claude-code-401"), 1, NOW);
  assert.equal(auth?.kind, "auth");
  assert.match(auth!.message, /authentication_failed/);
});

Deno.test("quota: qwen code's 429 retries carry the server's 'try again in 20s'; its 401 (exit 1) is auth", () => {
  const rate = classifyFailure(observed("qwen-429"), 1, NOW);
  assert.equal(rate?.kind, "rate_limit");
  assert.equal(rate?.reset_at, NOW + 20_000, "the API's time, not the CLI's own 60 s retry delay");
  const auth = classifyFailure(observed("qwen-401"), 1, NOW);
  assert.equal(auth?.kind, "auth");
  assert.match(auth!.message, /API Error: 401 Incorrect API key provided/);
});

Deno.test("quota live: a CLI retrying an account limit in a row at its output's end is stuck", () => {
  // Claude Code: three api_retry events on 429, then nothing
  const claude = observed("claude-code-429");
  assert.equal(classifyLive(claude, 3, NOW)?.kind, "rate_limit");
  assert.equal(classifyLive(claude, 4, NOW), null, "fewer retries than asked for");
  assert.equal(classifyLive(observed("claude-code-401"), 3, NOW)?.kind, "auth");
  // Gemini CLI: "Attempt N failed: ... check quota" with its "Retrying after" notices between
  const gemini = observed("gemini-429");
  const g = classifyLive(gemini, 2, NOW);
  assert.equal(g?.kind, "quota");
  assert.equal(g?.reset_at, NOW + 20_000, "its suggested retry time");
  assert.equal(classifyLive(gemini, 3, NOW), null);
  // Codex reconnecting on 429 (before it gives up and exits)
  assert.equal(classifyLive(observed("codex-429").slice(0, 5), 3, NOW)?.kind, "rate_limit");
});

Deno.test("quota live: retries followed by other output, or trouble without a retry, are not stuck", () => {
  const claude = observed("claude-code-429").filter((l) => l.trim() !== "");
  assert.equal(classifyLive([...claude, '{"type":"assistant","message":{}}'], 3, NOW), null);
  const work = [
    "grep -rn quota lib/",
    "lib/quota.ts: 429 Too Many Requests is a rate limit",
    "lib/quota.ts: rate limit reached",
    "lib/quota.ts: too many requests",
  ];
  assert.equal(classifyLive(work, 3, NOW), null, "output about limits, without retrying");
  const long = `retry ${"429 ".repeat(600)}`;
  assert.equal(classifyLive([long, long, long], 3, NOW), null, "a tool's long output line");
});
