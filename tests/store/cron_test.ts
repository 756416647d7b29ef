/** Cron expressions in a time zone (lib/store/cron.ts): fields, shorthands, DST, errors. */
import assert from "node:assert/strict";
import {
  checkTimeZone,
  localText,
  nextOccurrence,
  parseCron,
  ValidationError,
} from "../../lib/store/mod.ts";

/** The next `n` occurrences after `from`, as local times. */
function next(expr: string, tz: string, from: string, n: number): string[] {
  const cron = parseCron(expr);
  const out: string[] = [];
  let t = Date.parse(from);
  for (let i = 0; i < n; i++) {
    const x = nextOccurrence(cron, tz, t);
    if (x === null) break;
    out.push(`${new Date(x).toISOString()} ${localText(tz, x)}`);
    t = x;
  }
  return out;
}

Deno.test("weekdays at nine in Paris, across the spring DST change", () => {
  assert.deepEqual(next("0 9 * * 1-5", "Europe/Paris", "2026-03-27T00:00:00Z", 3), [
    "2026-03-27T08:00:00.000Z 2026-03-27 09:00 Europe/Paris",
    "2026-03-30T07:00:00.000Z 2026-03-30 09:00 Europe/Paris",
    "2026-03-31T07:00:00.000Z 2026-03-31 09:00 Europe/Paris",
  ]);
});

Deno.test("a local time the spring change skips does not occur that day", () => {
  // 2026-03-29: Paris goes from 02:00 to 03:00
  assert.deepEqual(next("30 2 * * *", "Europe/Paris", "2026-03-28T00:00:00Z", 2), [
    "2026-03-28T01:30:00.000Z 2026-03-28 02:30 Europe/Paris",
    "2026-03-30T00:30:00.000Z 2026-03-30 02:30 Europe/Paris",
  ]);
});

Deno.test("a local time the autumn change repeats occurs once", () => {
  // 2026-11-01: New York goes back from 02:00 to 01:00, so 01:00-01:59 happens twice
  assert.deepEqual(next("*/30 1 * * *", "America/New_York", "2026-11-01T04:00:00Z", 3), [
    "2026-11-01T05:00:00.000Z 2026-11-01 01:00 America/New_York",
    "2026-11-01T05:30:00.000Z 2026-11-01 01:30 America/New_York",
    "2026-11-02T06:00:00.000Z 2026-11-02 01:00 America/New_York",
  ]);
  // and a daily time after the change keeps its wall-clock hour
  assert.deepEqual(next("0 9 * * *", "America/New_York", "2026-10-31T14:00:00Z", 2), [
    "2026-11-01T14:00:00.000Z 2026-11-01 09:00 America/New_York",
    "2026-11-02T14:00:00.000Z 2026-11-02 09:00 America/New_York",
  ]);
});

Deno.test("shorthands, names, steps, a half-hour zone and the either-day rule", () => {
  assert.deepEqual(next("@hourly", "Asia/Kolkata", "2026-01-01T00:00:00Z", 2), [
    "2026-01-01T00:30:00.000Z 2026-01-01 06:00 Asia/Kolkata",
    "2026-01-01T01:30:00.000Z 2026-01-01 07:00 Asia/Kolkata",
  ]);
  assert.deepEqual(next("15-45/15 8 * jan-feb sat", "UTC", "2026-01-01T00:00:00Z", 4), [
    "2026-01-03T08:15:00.000Z 2026-01-03 08:15 UTC",
    "2026-01-03T08:30:00.000Z 2026-01-03 08:30 UTC",
    "2026-01-03T08:45:00.000Z 2026-01-03 08:45 UTC",
    "2026-01-10T08:15:00.000Z 2026-01-10 08:15 UTC",
  ]);
  // day 1 of the month or any Monday (both restricted: either matches); 7 is Sunday too
  assert.deepEqual(
    next("0 0 1 * mon", "UTC", "2026-01-25T00:00:00Z", 3).map((s) => s.slice(0, 10)),
    ["2026-01-26", "2026-02-01", "2026-02-02"],
  );
  assert.deepEqual(parseCron("0 0 * * 7").dow, new Set([0]));
  assert.deepEqual(next("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 1), [
    "2028-02-29T00:00:00.000Z 2028-02-29 00:00 UTC",
  ]);
  assert.equal(nextOccurrence(parseCron("0 0 30 2 *"), "UTC", Date.now()), null);
});

Deno.test("a bad cron or zone is refused naming the field", () => {
  const cases: [string, RegExp][] = [
    ["0 9 * *", /4 fields; a cron has 5/],
    ["61 * * * *", /field 1 \(minute\) "61": 61 is out of range 0-59/],
    ["0 24 * * *", /field 2 \(hour\)/],
    ["0 0 0 * *", /field 3 \(day of month\)/],
    ["* * * foo *", /field 4 \(month\) "foo": "foo" is not a number or a name/],
    ["* * * * 1-5/0", /field 5 \(day of week\).*step "0"/],
    ["* * * * 5-1", /runs backwards/],
    ["@often", /unknown shorthand/],
    ["", /0 fields/],
  ];
  for (const [expr, message] of cases) {
    assert.throws(() => parseCron(expr), (e) => {
      assert.ok(e instanceof ValidationError, expr);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(() => checkTimeZone("Europe/Pariss"), /Unknown time zone "Europe\/Pariss"/);
  assert.equal(checkTimeZone("UTC"), "UTC");
});
