/**
 * Fuzzes the CLI in-process: argument lists built from the real command tree (every verb,
 * its flags and arguments, read from buildProgram() so new verbs are covered by themselves),
 * filled with live task ids and their prefixes, bogus ids and hostile strings, with arguments
 * missing or extra, unknown and repeated flags, --json on and off. Every case must end with
 * exit code 0, 1 or 2 and, on failure, one clear error (a `kanban: ` line, or a JSON error
 * object with --json), never a stack trace; the board must stay sound throughout.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import type { CliContext } from "../../lib/cli/context.ts";
import { buildProgram } from "../../lib/cli/program.ts";
import { KNOWN_EVENT_KINDS, openStore, STATUSES } from "../../lib/store/mod.ts";
import { SKILLS } from "../../skills/mod.ts";
import { cliHome } from "../cli/_cli.ts";
import {
  durationStr,
  hostileString,
  idTok,
  jsonStr,
  nameStr,
  numberStr,
  priorityStr,
  resolveTok,
  timeStr,
  type Tok,
} from "./_arbitraries.ts";
import {
  assertHealthy,
  assertNoLeak,
  CHECK_EVERY,
  fuzzParams,
  fuzzRuns,
  seedBoard,
} from "./_fuzz.ts";

/** Cases per run: 10,000, or $KANBAN_FUZZ_RUNS. */
const RUNS = fuzzRuns(10_000);
const SHOWN = RUNS.toLocaleString("en");

// The exclusions, kept small and explicit ------------------------------------------------

/** Verbs never run: they serve until a signal or until stdin closes. */
const NEVER = new Set(["serve", "mcp"]);

/**
 * Verbs run only with these arguments forced in, so that each case ends and stays inside the
 * temporary home: one read-only dispatcher pass (no workers, no notifications delivered),
 * a watch that stops after one event or a second, skills written to a folder of the home.
 * `before` goes right after the verb (no option can swallow it there); `after` goes last,
 * where it wins over an earlier copy of the flag, or is refused as an extra argument.
 */
const FORCED: Record<string, { before?: string[]; after?: string[] }> = {
  "dispatch": { before: ["--dry-run"] },
  "watch": { after: ["--since", "0", "--count", "1", "--timeout", "1"] },
  "skills install": { after: ["--to", "skills"] },
};

// `tail` follows a running task until it stops: a case whose tail names one (or another
// board, whose tasks the guard does not see) is skipped.
// confine() keeps paths inside the temporary home (backup FILE, init --db, skills --to).

/** confine rewrites absolute, home-relative and parent paths so they stay in the temp dir. */
function confine(arg: string): string {
  return arg.replace(/(^|=)(?=[/~])/g, "$1_").replaceAll("..", "__");
}

// The command tree ---------------------------------------------------------------------------

interface OptSpec {
  flag: string;
  long: string | undefined;
  value: boolean;
  name: string;
}
interface ArgSpec {
  name: string;
  required: boolean;
  variadic: boolean;
}
interface VerbSpec {
  path: string[];
  key: string;
  options: OptSpec[];
  args: ArgSpec[];
}

interface Cmd {
  name(): string;
  aliases(): string[];
  commands: readonly Cmd[];
  options: readonly {
    long?: string | undefined;
    short?: string | undefined;
    required: boolean;
    optional: boolean;
    attributeName(): string;
  }[];
  registeredArguments: readonly { name(): string; required: boolean; variadic: boolean }[];
}

const NO_CTX: CliContext = {
  env: {},
  cwd: "/",
  stdout: () => {},
  stderr: () => {},
  readStdin: () => Promise.resolve(""),
  now: () => 0,
};

function optSpecs(c: Cmd): OptSpec[] {
  return c.options.flatMap((o) =>
    [o.long, o.short].filter((f): f is string => f !== undefined).map((flag) => ({
      flag,
      long: o.long,
      value: o.required || o.optional,
      name: o.attributeName(),
    }))
  );
}

/** commandTree lists every verb (aliases and groups included) with its flags and arguments. */
function commandTree(): { verbs: VerbSpec[]; globals: OptSpec[] } {
  const program = buildProgram(NO_CTX) as unknown as Cmd;
  const verbs: VerbSpec[] = [];
  const walk = (c: Cmd, parent: string[]) => {
    const key = [...parent, c.name()].join(" ");
    for (const name of [c.name(), ...c.aliases()]) {
      verbs.push({
        path: [...parent, name],
        key,
        options: optSpecs(c),
        args: c.registeredArguments.map((a) => ({
          name: a.name(),
          required: a.required,
          variadic: a.variadic,
        })),
      });
    }
    for (const sub of c.commands) walk(sub, [...parent, c.name()]);
  };
  for (const c of program.commands) if (!NEVER.has(c.name())) walk(c, []);
  // commander's implicit `help [command]`
  verbs.push({
    path: ["help"],
    key: "help",
    options: [],
    args: [{ name: "command", required: false, variadic: false }],
  });
  return { verbs, globals: optSpecs(program) };
}

const TREE = commandTree();
const VERB_NAMES = new Set(TREE.verbs.flatMap((v) => v.path).concat([...NEVER]));

/** Verbs that may end with exit code 1 after printing their own results (partial failure). */
const REPORTING = new Set([
  "unblock",
  "promote",
  "cancel",
  "archive",
  "unarchive",
  "reopen",
  "review",
  "complete",
  "decompose",
  "plan approve",
  "doctor",
  "gc",
  "skills install",
]);

/** Flags that take a value: a `--json` right after one of them is that value. */
const VALUE_FLAGS = new Set(
  [...TREE.globals, ...TREE.verbs.flatMap((v) => v.options)].filter((o) => o.value)
    .map((o) => o.flag),
);

/**
 * Verbs whose output is text even with --json: help, shell scripts, the groups (their help),
 * and `tail`, which follows a log as it is written (it has no JSON form yet).
 */
const TEXT_ONLY = new Set(["help", "completions", "notify", "skills", "tail"]);

// Values typed after what a flag or argument expects, mixed with hostile ones -----------------

/** Text a person would write, now and then hostile. */
const textStr: fc.Arbitrary<Tok> = fc.oneof(
  { arbitrary: fc.lorem({ maxCount: 6 }), weight: 3 },
  { arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }), weight: 2 },
  { arbitrary: idTok, weight: 1 },
  { arbitrary: hostileString, weight: 1 },
);

const relPath = fc.oneof(
  fc.constantFrom("copy.db", "copy.db/x.db", "sub/dir/x.db", "out", ".", "skills", "boards"),
  hostileString,
);

/** valueFor: what a flag or argument expects (tame), or that mixed with hostile strings. */
function valueFor(name: string, tame = false): fc.Arbitrary<Tok> {
  const typed = ((): fc.Arbitrary<Tok> => {
    const n = name.toLowerCase();
    if (/^(id|ids|task|parent|child)$/.test(n)) return idTok;
    if (/^(title|args|body|summary|result|reason|note|secret|key|idempotencykey)$/.test(n)) {
      return textStr;
    }
    if (/lease|timeout|runtime|stale|older/.test(n)) return durationStr;
    if (n === "priority") return priorityStr;
    if (n === "notbefore") return timeStr;
    if (n === "metadata") return jsonStr;
    if (/^(limit|offset|count|run|since|port)$/.test(n)) return numberStr;
    if (n === "status") {
      return fc.array(fc.constantFrom(...STATUSES, "bogus", ""), { maxLength: 3 })
        .map((s) => s.join(","));
    }
    if (n === "event") return fc.constantFrom(...KNOWN_EVENT_KINDS, "bogus", "created,blocked");
    if (n === "workspace") {
      return fc.constantFrom("scratch", "worktree", "dir:/tmp", "dir:", "dir:rel", "elsewhere");
    }
    if (n === "webhook") {
      return fc.constantFrom("http://127.0.0.1:9/hook", "https://example.com/x", "ftp://x", "x");
    }
    if (n === "command") return fc.constantFrom("true", "cat > /dev/null", "");
    if (n === "bodyfile") return fc.constantFrom("-", "-", "missing.md", "");
    if (/^(db|file|to|config)$/.test(n)) return relPath;
    if (n === "board") return fc.constantFrom("default", "default", "other", "bad name");
    if (n === "shell") return fc.constantFrom("bash", "zsh", "fish", "sh");
    if (/^(name|names)$/.test(n)) return fc.constantFrom(...SKILLS.map((s) => s.name), "nope");
    if (/assignee|tenant|profile|author|createdby|skill/.test(n)) return nameStr;
    if (n === "host") return fc.constantFrom("127.0.0.1", "0.0.0.0", "::1", "example.com");
    return hostileString;
  })();
  if (tame) return typed;
  return fc.oneof({ arbitrary: typed, weight: 4 }, { arbitrary: hostileString, weight: 1 });
}

/** Piece: one or two arguments that go together (a flag and its value). */
type Piece = readonly Tok[];

/** An option with its value, without it, or as --long=value (tame: always the first). */
function optionPiece(o: OptSpec, tame = false): fc.Arbitrary<Piece> {
  if (tame) return o.value ? valueFor(o.name, true).map((x) => [o.flag, x]) : fc.constant([o.flag]);
  if (!o.value) {
    return fc.oneof(
      { arbitrary: fc.constant([o.flag]), weight: 8 },
      { arbitrary: fc.constant([`${o.long ?? o.flag}=yes`]), weight: 1 },
    );
  }
  const v = valueFor(o.name);
  return fc.oneof(
    { arbitrary: v.map((x) => [o.flag, x]), weight: 8 },
    {
      arbitrary: v.map((x) => [`${o.long ?? o.flag}=${typeof x === "string" ? x : "x"}`]),
      weight: 1,
    },
    { arbitrary: fc.constant([o.flag]), weight: 1 }, // its value missing
  );
}

const unknownFlag: fc.Arbitrary<Piece> = fc.oneof(
  fc.constantFrom(["--bogus"], ["-z"], ["--json=1"], ["--no-json"], ["-"], ["--"], ["-Vx"]),
  hostileString.map((s) => [`--${typeof s === "string" ? s : "long"}`]),
);

const helpFlag: fc.Arbitrary<Piece> = fc.constantFrom(["--help"], ["-h"], ["-V"]);

function globalPiece(): fc.Arbitrary<Piece> {
  // --json is placed on its own; -V/--version is one of the help flags
  return fc.oneof(
    ...TREE.globals.filter((g) => g.value).map((o) => optionPiece(o)),
  );
}

/**
 * A case for one verb: its positional arguments (usually the right number), then flags. A
 * tame case has exactly the arguments the verb declares and only its own flags, with values
 * of the expected kind: most of those succeed, so the board keeps changing.
 */
function verbArgs(spec: VerbSpec, tame: boolean): fc.Arbitrary<Tok[]> {
  const pos = spec.args.length > 0
    ? fc.oneof(...spec.args.map((a) => valueFor(a.name, tame)))
    : hostileString;
  const natural = spec.args.filter((a) => a.required).length +
    spec.args.filter((a) => a.variadic).length;
  if (tame) {
    const opts = spec.options.length > 0
      ? fc.array(fc.oneof(...spec.options.map((o) => optionPiece(o, true))), { maxLength: 2 })
      : fc.constant([]);
    return fc.tuple(fc.array(pos, { minLength: natural, maxLength: natural }), opts)
      .map(([p, o]) => [...p, ...o.flat()]);
  }
  const positionals = fc.oneof(
    { arbitrary: fc.array(pos, { minLength: natural, maxLength: natural }), weight: 8 },
    { arbitrary: fc.array(pos, { maxLength: natural + 3 }), weight: 2 },
  );
  const piece = fc.oneof(
    ...(spec.options.length > 0
      ? [{ arbitrary: fc.oneof(...spec.options.map((o) => optionPiece(o))), weight: 60 }]
      : []),
    { arbitrary: globalPiece(), weight: 3 },
    { arbitrary: unknownFlag, weight: 3 },
    { arbitrary: pos.map((p) => [p]), weight: 3 },
    { arbitrary: helpFlag, weight: 1 },
  );
  return fc.tuple(positionals, fc.array(piece, { maxLength: 4 }), fc.boolean())
    .map(([p, opts, flagsFirst]) => {
      const flags = opts.flat();
      return flagsFirst ? [...flags, ...p] : [...p, ...flags];
    });
}

interface CliCase {
  /** The verb's key ("notify add"), or null for a bogus verb or none at all. */
  verb: string | null;
  argv: Tok[];
  /** Where --json goes (-1: nowhere). */
  json: number;
  env: "person" | "worker" | "stale-worker" | "hostile";
  envValue: Tok;
  stdin: Tok;
}

/** More creates and claims than other verbs, so that the board grows and keeps moving. */
const WEIGHT: Record<string, number> = { create: 5, claim: 2, complete: 2 };

const realVerb = fc.oneof(
  ...TREE.verbs.map((spec) => ({
    weight: WEIGHT[spec.key] ?? 1,
    arbitrary: fc.oneof(
      { arbitrary: verbArgs(spec, false), weight: 2 },
      { arbitrary: verbArgs(spec, true), weight: 1 },
    ).map((rest) => {
      const forced = FORCED[spec.key] ?? {};
      return {
        verb: spec.key,
        argv: [...spec.path, ...(forced.before ?? []), ...rest, ...(forced.after ?? [])] as Tok[],
      };
    }),
  })),
);

const bogusVerb = fc.tuple(
  hostileString.filter((s) => typeof s !== "string" || !VERB_NAMES.has(s)),
  fc.array(fc.oneof(hostileString, idTok), { maxLength: 3 }),
).map(([v, rest]) => ({ verb: null, argv: [v, ...rest] as Tok[] }));

/** No verb: only flags (which must never make a positional a verb). */
const noVerb = fc.array(fc.oneof(globalPiece(), unknownFlag, helpFlag), { maxLength: 3 })
  .map((pieces) => ({ verb: null, argv: pieces.flat() }));

const cliCase: fc.Arbitrary<CliCase> = fc.record({
  cmd: fc.oneof(
    { arbitrary: realVerb, weight: 30 },
    { arbitrary: bogusVerb, weight: 1 },
    { arbitrary: noVerb, weight: 1 },
  ),
  globals: fc.array(globalPiece(), { maxLength: 1 }),
  json: fc.oneof(fc.constant(-1), fc.nat({ max: 12 })),
  env: fc.constantFrom("person", "person", "person", "worker", "stale-worker", "hostile"),
  envValue: fc.oneof(idTok, hostileString),
  stdin: fc.oneof(fc.constant(""), hostileString),
}).map(({ cmd, globals, json, env, envValue, stdin }) => ({
  verb: cmd.verb,
  // Global options keep their value next to them, so none can take the verb as its value.
  argv: [...globals.flat(), ...cmd.argv],
  json,
  env,
  envValue,
  stdin,
}));

// The checks ---------------------------------------------------------------------------------

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function lines(text: string): string[] {
  return text === "" ? [] : text.replace(/\n$/, "").split("\n");
}

function isJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

function assertErrorObject(line: string): void {
  const v = JSON.parse(line) as { error?: { code?: unknown; message?: unknown } };
  assert.deepEqual(Object.keys(v), ["error"], `not an error object: ${line}`);
  assert.deepEqual(Object.keys(v.error!).sort(), ["code", "message"], line);
  assert.ok(typeof v.error!.code === "string" && v.error!.code !== "", line);
  assert.ok(typeof v.error!.message === "string" && v.error!.message.trim() !== "", line);
}

function assertKanbanLines(text: string, what: string): void {
  for (const l of lines(text)) {
    assert.match(l, /^kanban: \S/, `${what}: a line that is not "kanban: <message>"`);
  }
}

/** checkOutcome: the exit code and the shape of the error, if any. */
function checkOutcome(verb: string | null, argv: string[], r: Outcome): void {
  assert.ok([0, 1, 2].includes(r.code), `exit code ${r.code}`);
  assertNoLeak(r.stdout, "stdout");
  assertNoLeak(r.stderr, "stderr");
  // runCli answers errors in JSON when --json is anywhere (even as a value, or after "--")
  const json = argv.includes("--json");
  if (r.code === 0) {
    const end = argv.indexOf("--");
    const flags = end === -1 ? argv : argv.slice(0, end);
    // --json as the flag, not as the value of an option before it (--db --json)
    const jsonFlag = flags.some((a, i) => a === "--json" && !VALUE_FLAGS.has(flags[i - 1] ?? ""));
    // help and the version are text, --json or not (-Vx is -V then -x; "-V " is -V too)
    // (anywhere: a "--" may be an option's value, and then it ends nothing)
    const text = argv.some((a) => /^(--help$|--version$|-[A-Za-z]*[hV])/.test(a)) ||
      verb === null || TEXT_ONLY.has(verb);
    if (jsonFlag && !text) {
      assert.ok(lines(r.stdout).every(isJson), "--json: a line on stdout that is not JSON");
    }
    return;
  }
  const reporting = verb !== null && REPORTING.has(verb);
  if (json) {
    const out = lines(r.stdout);
    if (reporting && (out.length !== 1 || !/^\{"error":/.test(out[0]!))) {
      // A partial failure printed its own results: JSON, or text when --json was a value.
      assert.ok(
        (out.length > 0 && out.every(isJson)) ||
          (r.stderr !== "" && lines(r.stderr).every((l) => /^kanban: /.test(l))),
        "a partial failure printed neither JSON nor kanban: lines",
      );
      return;
    }
    assert.equal(out.length, 1, "--json: not exactly one line on stdout after a failure");
    assertErrorObject(out[0]!);
    assertKanbanLines(r.stderr, "stderr");
    return;
  }
  assertKanbanLines(r.stderr, "stderr");
  if (!reporting) {
    assert.equal(lines(r.stderr).length, 1, "not exactly one error line on stderr");
  } else if (r.stderr === "") {
    // doctor prints its problems on stdout; the others report on stderr
    assert.ok(verb === "doctor", "a failure with nothing on stderr");
  }
}

// The test -------------------------------------------------------------------------------------

Deno.test(
  `the CLI survives ${SHOWN} hostile command lines with clear errors and a sound board`,
  async () => {
    using h = await cliHome();
    const boardPath = join(h.home, "boards", "default", "board.db");
    const store = openStore(boardPath);
    try {
      const seeded = await seedBoard(store, h.home);
      let ids = seeded.ids;
      const refreshIds = async () => {
        ids = (await store.listTasks({ archived: true })).map((t) => t.id);
      };
      let cases = 0;
      const codes = [0, 0, 0];
      const started = performance.now();

      const property = fc.asyncProperty(cliCase, async (c) => {
        if (cases % 50 === 0) await refreshIds();
        const argv = c.argv.map((t) => confine(resolveTok(t, ids)));
        if (c.json >= 0) argv.splice(Math.min(c.json, argv.length), 0, "--json");
        if (c.verb === "tail") {
          // Only on the fuzzed board, whose running tasks the guard can see.
          fc.pre(!argv.some((a) => /^--(db|board)/.test(a)));
          for (const a of argv) {
            const task = await store.getTask(a).catch(() => null);
            fc.pre(task?.status !== "running");
          }
        }
        const value = resolveTok(c.envValue, ids);
        const env: Record<string, string> = {
          KANBAN_BIN: "/bin/false",
          ...(c.env === "worker"
            ? {
              KANBAN_TASK: seeded.claim.task.id,
              KANBAN_TOKEN: seeded.claim.token,
              KANBAN_PROFILE: "coder",
            }
            : c.env === "stale-worker"
            ? { KANBAN_TASK: value, KANBAN_TOKEN: `kb_${"0".repeat(43)}` }
            : c.env === "hostile"
            ? { KANBAN_ACTOR: value, KANBAN_TENANT: value, KANBAN_PROFILE: value }
            : {}),
        };
        cases++;
        const r = await h.run(argv, env, resolveTok(c.stdin, ids));
        codes[r.code] = (codes[r.code] ?? 0) + 1;
        try {
          checkOutcome(c.verb, argv, r);
        } catch (err) {
          const cut = (t: string) => JSON.stringify(t.length > 2000 ? `${t.slice(0, 2000)}...` : t);
          (err as Error).message += `\n  argv: ${cut(JSON.stringify(argv))}\n  exit ${r.code}` +
            `\n  stdout: ${cut(r.stdout)}\n  stderr: ${cut(r.stderr)}`;
          throw err;
        }
        if (cases % CHECK_EVERY === 0) await assertHealthy(store, `after ${cases} cases`);
      });
      await fc.assert(property, fuzzParams(RUNS));
      await assertHealthy(store, `after all ${cases} cases`);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(
        `cli fuzz: ${cases} cases in ${seconds} s; exit 0: ${codes[0]}, 1: ${codes[1]}, ` +
          `2: ${codes[2]}; ${ids.length} tasks on the board`,
      );
    } finally {
      store.close();
    }
  },
);
