/**
 * Arbitraries shared by the fuzz tests: hostile strings, values typed after what a field or
 * flag expects, and placeholders (`Live`, `Long`) that are turned into real task ids and very
 * long strings only when a case runs, so that generating and printing cases stays cheap.
 */
import fc from "fast-check";

/**
 * Live stands for a task id of the board as it is when the case runs: the n-th task (modulo
 * how many there are), cut to `cut` characters when that is shorter (a prefix, maybe
 * ambiguous), upper-cased when `upper`.
 */
export class Live {
  constructor(readonly n: number, readonly cut: number, readonly upper: boolean) {}
  resolve(ids: readonly string[]): string {
    const id = ids.length === 0 ? "t_00000000" : ids[this.n % ids.length]!;
    const s = id.slice(0, this.cut);
    return this.upper ? s.toUpperCase() : s;
  }
  [fc.toStringMethod](): string {
    return `Live(${this.n}, ${this.cut}${this.upper ? ", upper" : ""})`;
  }
}

/** Long is a string of `n` times `unit`, built when the case runs (printed short). */
export class Long {
  constructor(readonly unit: string, readonly n: number) {}
  get value(): string {
    return this.unit.repeat(this.n);
  }
  [fc.toStringMethod](): string {
    return `Long(${JSON.stringify(this.unit)} x ${this.n})`;
  }
}

/** Nested is JSON text nesting `n` objects (or arrays) deep, built when the case runs. */
export class Nested {
  constructor(readonly n: number, readonly array: boolean) {}
  get value(): string {
    return this.array
      ? `${"[".repeat(this.n)}1${"]".repeat(this.n)}`
      : `${'{"a":'.repeat(this.n)}1${"}".repeat(this.n)}`;
  }
  [fc.toStringMethod](): string {
    return `Nested(${this.n}${this.array ? ", array" : ""})`;
  }
}

/** A string, or a placeholder for one. */
export type Tok = string | Live | Long | Nested;

/** resolveTok turns a placeholder into its string for the board's current `ids`. */
export function resolveTok(t: Tok, ids: readonly string[]): string {
  if (t instanceof Live) return t.resolve(ids);
  if (t instanceof Long || t instanceof Nested) return t.value;
  return t;
}

/** resolveDeep replaces the placeholders anywhere inside a JSON-like value. */
export function resolveDeep(v: unknown, ids: readonly string[]): unknown {
  if (v instanceof Live || v instanceof Long || v instanceof Nested) return resolveTok(v, ids);
  if (Array.isArray(v)) return v.map((x) => resolveDeep(x, ids));
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // defineProperty: a "__proto__" key stays an own key, as JSON.parse would make it
      Object.defineProperty(out, k, {
        value: resolveDeep(x, ids),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

/**
 * HOSTILE strings that have broken parsers before: empty and blank, NUL and control
 * characters, RTL overrides, lone surrogates, emoji sequences, SQL, shell metacharacters,
 * format strings, JSON fragments, prototype keys, number edge cases, path tricks.
 */
export const HOSTILE: readonly string[] = [
  "",
  " ",
  "   ",
  "\t",
  "\n",
  "\r\n",
  "a\nb",
  "\0",
  "a\0b",
  "\x01\x02\x1b[31m\x7f",
  "\u202eevil\u202c",
  "\u200f\u200e\u200b\ufeff",
  "مرحبا بالعالم",
  "שלום",
  "👩‍👩‍👧‍👦🏳️‍🌈",
  "\ud800",
  "\udfff\ud800",
  "\uffff\ufffe",
  "Ω≈ç√∫",
  "e\u0301\u0301\u0301",
  "'; DROP TABLE tasks; --",
  '" OR 1=1 --',
  "%' OR '%'='",
  "1; DELETE FROM task_runs",
  "$(echo pwned)",
  "`echo pwned`",
  "; echo pwned",
  "| cat",
  "&& true",
  "> out.txt",
  "*",
  "?",
  "%",
  "%s%n%x",
  "{{title}}",
  "${HOME}",
  "{",
  "}",
  "{}",
  "[]",
  "[{]",
  "null",
  "true",
  '{"a":',
  '{"__proto__":{"polluted":1}}',
  '{"constructor":{"prototype":{}}}',
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "0",
  "-0",
  "-1",
  "1",
  "1.5",
  "-1.5",
  "1e3",
  "1e309",
  "-1e309",
  "NaN",
  "Infinity",
  "-Infinity",
  "0x10",
  "0b11",
  "0o7",
  "+5",
  " 5 ",
  "9007199254740991",
  "9007199254740993",
  "-9007199254740993",
  "99999999999999999999999999",
  "2147483648",
  "-2147483649",
  "1001",
  "-1001",
  "t_",
  "t_0",
  "t_00000000",
  "t_ffffffff",
  "t_zzzzzzzz",
  "T_",
  "t_%",
  "t__",
  "#1",
  "-",
  "--",
  "-x",
  "--x",
  "--=",
  "=",
  "a=b",
  ".",
  "..",
  "./",
  "~",
  "~/x",
  "/",
  "/dev/null",
  "C:\\Windows",
  "\\\\server\\share",
  "file:///etc/passwd",
  "http://",
  "javascript:alert(1)",
  "<script>alert(1)</script>",
  "dir:",
  "dir:relative",
  "dir:/",
  "scratch",
  "worktree",
  "0s",
  "0m",
  "-5m",
  "30m",
  "1h30m",
  "2d",
  "1w",
  "99999999999d",
  "+2h",
  "in 3d",
  "+",
  "+0s",
  "2026-01-01",
  "2026-13-45T99:99Z",
  "9999-12-31T23:59:59Z",
  "0000-01-01",
  "low",
  "normal",
  "high",
  "urgent",
  "LOW",
  "ready",
  "ready,done",
  ",,,",
  "archived,bogus",
  "completed,blocked",
  "bash",
  "zsh",
  "fish",
];

const PRINTABLE = fc.string({ unit: "grapheme", maxLength: 12 });

/** hostileString: a HOSTILE entry, random text of any kind, or a very long run of one unit. */
export const hostileString: fc.Arbitrary<Tok> = fc.oneof(
  { arbitrary: fc.constantFrom(...HOSTILE), weight: 6 },
  { arbitrary: fc.string({ maxLength: 16 }), weight: 2 },
  { arbitrary: PRINTABLE, weight: 2 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 16 }), weight: 2 },
  { arbitrary: fc.string({ unit: "binary-ascii", maxLength: 16 }), weight: 1 },
  { arbitrary: fc.json({ maxDepth: 2 }), weight: 1 },
  { arbitrary: fc.integer().map(String), weight: 1 },
  { arbitrary: fc.double().map(String), weight: 1 },
  { arbitrary: fc.bigInt().map(String), weight: 1 },
  {
    arbitrary: fc.tuple(
      fc.constantFrom("x", "é", "😀", "\0", "\n", "-", "a b", "t_"),
      fc.constantFrom(101, 501, 20_001, 100_001, 1024 * 1024 + 1),
    ).map(([unit, n]) => new Long(unit, n)),
    weight: 1,
  },
);

/** liveId: an id of the board (whole, a prefix, or upper-cased) when the case runs. */
export const liveId: fc.Arbitrary<Live> = fc.tuple(
  fc.nat({ max: 10_000 }),
  fc.oneof(
    { arbitrary: fc.constant(10), weight: 6 },
    { arbitrary: fc.integer({ min: 0, max: 9 }), weight: 3 },
  ),
  fc.nat({ max: 9 }).map((n) => n === 0),
).map(([n, cut, upper]) => new Live(n, cut, upper));

/** idTok: a live id most of the time, otherwise a bogus or hostile one. */
export const idTok: fc.Arbitrary<Tok> = fc.oneof(
  { arbitrary: liveId, weight: 12 },
  { arbitrary: fc.stringMatching(/^t_[0-9a-f]{8}$/), weight: 1 },
  { arbitrary: fc.stringMatching(/^t_[0-9a-f]{0,7}$/), weight: 1 },
  { arbitrary: hostileString, weight: 2 },
);

/** What a value of each kind looks like: mostly plausible, one time in five hostile. */
function kind(...plausible: fc.Arbitrary<Tok>[]): fc.Arbitrary<Tok> {
  return fc.oneof(
    { arbitrary: fc.oneof(...plausible), weight: 4 },
    { arbitrary: hostileString, weight: 1 },
  );
}

export const durationStr: fc.Arbitrary<Tok> = kind(
  fc.constantFrom("90", "90s", "30m", "1h30m", "2d", "1w", "0", "0s", "-1m", "1.5h", "m", ""),
  fc.constantFrom("9007199254740991", "8640000000000", "14900000w", "99999999999d"),
  fc.tuple(fc.integer({ min: -5, max: 100_000 }), fc.constantFrom("", "s", "m", "h", "d", "w", "x"))
    .map(([n, u]) => `${n}${u}`),
);

export const numberStr: fc.Arbitrary<Tok> = kind(
  fc.integer({ min: -3, max: 60 }).map(String),
  fc.constantFrom("0", "1", "#1", "1.0", "1e2", " 2 ", "0x1", "-0", "9007199254740993"),
  fc.constantFrom("9007199254740991", "8640000000000001", "2147483648", "4294967296"),
  fc.integer().map(String),
);

export const priorityStr: fc.Arbitrary<Tok> = kind(
  fc.constantFrom("low", "normal", "high", "urgent", "constructor", "__proto__", "toString"),
  fc.integer({ min: -1500, max: 1500 }).map(String),
);

export const timeStr: fc.Arbitrary<Tok> = kind(
  fc.constantFrom("+2h", "in 30m", "+0s", "2026-12-01T09:00Z", "2026-12-01", "+99999999999w"),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.integer({ min: -100, max: 100 }).map((n) => `+${n}m`),
);

/** JSON-ish text: valid JSON of any shape, or fragments of it. */
export const jsonStr: fc.Arbitrary<Tok> = kind(
  fc.json({ maxDepth: 3 }),
  fc.json({ maxDepth: 3 }).map((s) => s.slice(0, Math.max(0, s.length - 1))),
  fc.constantFrom('{"k":"v"}', "{}", "[]", '{"a":{"b":{"c":[1,2,{"d":null}]}}}'),
  fc.tuple(fc.nat({ max: 20_000 }), fc.boolean()).map(([n, array]) => new Nested(n, array)),
);

export const nameStr: fc.Arbitrary<Tok> = kind(
  fc.constantFrom("coder", "reviewer", "acme", "a.b-c_d@e", "x"),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,8}$/),
);

/** JSON values of every type, mixing hostile strings and placeholders in. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    { arbitrary: hostileString, weight: 4 },
    { arbitrary: idTok, weight: 1 },
    { arbitrary: fc.integer(), weight: 1 },
    {
      arbitrary: fc.constantFrom(0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, Number.MIN_VALUE),
      weight: 1,
    },
    { arbitrary: fc.boolean(), weight: 1 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: fc.array(tie("v"), { maxLength: 4 }), weight: 1 },
    {
      arbitrary: fc.dictionary(
        fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__proto__", "constructor")),
        tie("v"),
        { maxKeys: 4 },
      ),
      weight: 1,
    },
  ),
})).v;
