/**
 * Keeps the conformance suite driver-neutral: no file under tests/store/ outside the drivers'
 * own folders (tests/store/sqlite/, tests/store/postgres/) may reach the SQLite file behind the
 * Store API, or a second driver could not run it. Boards come from tests/store/_drivers.ts, which alone may call openStore
 * (besides the child processes, which open a board by the location they are given).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = fileURLToPath(new URL(".", import.meta.url));

/** What a conformance file must not contain, and why. */
const FORBIDDEN: { pattern: RegExp; why: string }[] = [
  { pattern: /node:sqlite/, why: "imports node:sqlite" },
  { pattern: /\bDatabaseSync\b/, why: "opens a raw SQLite connection" },
  { pattern: /\bsnapshot\(/, why: "reads the board file with snapshot()" },
  { pattern: /\brawDb\b/, why: "writes the board file with rawDb()" },
  { pattern: /sqlite\/_raw/, why: "imports the SQLite driver's raw helpers" },
  { pattern: /\bPRAGMA\b/i, why: "runs a PRAGMA" },
  { pattern: /\bsetup\(/, why: "opens a SQLite board with tests/_setup.ts setup()" },
  { pattern: /\b(b|board)\.(path|dir)\b/, why: "uses the board's file path or folder" },
  { pattern: /\.store\.path\b/, why: "uses the board's file path" },
  {
    pattern: /\b(\w+Sync|Deno\.\w+)\((b|board)\.location\b/,
    why: "touches the board's location as a file",
  },
];

/** Files that may call openStore: the driver list, and children given a board's location. */
const MAY_OPEN = new Set([
  "_drivers.ts",
  "_claimer.ts",
  "_creator.ts",
  "_writer.ts",
  "_firer.ts",
]);

/** The drivers' own tests (and helpers), which may reach their storage directly. */
const DRIVER_DIRS = new Set(["sqlite", "postgres"]);

/** conformanceFiles lists the .ts files under tests/store/ outside the drivers' own folders. */
function conformanceFiles(dir = HERE): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return DRIVER_DIRS.has(relative(HERE, path)) ? [] : conformanceFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/** offences names every forbidden use in `text` (of file `name`), with its line number. */
function offences(name: string, text: string): string[] {
  const found: string[] = [];
  const self = name === "conformance_meta_test.ts";
  text.split("\n").forEach((line, i) => {
    // this file names the patterns it forbids; comments may name them too
    if (self || /^\s*(\/\/|\/\*|\*)/.test(line)) return;
    for (const { pattern, why } of FORBIDDEN) {
      if (pattern.test(line)) found.push(`${name}:${i + 1} ${why}: ${line.trim()}`);
    }
    if (/\bopenStore\b/.test(line) && !MAY_OPEN.has(name)) {
      found.push(
        `${name}:${i + 1} opens a board itself instead of through a driver: ${line.trim()}`,
      );
    }
  });
  return found;
}

Deno.test("no conformance test reads or opens the SQLite board file behind the Store API", () => {
  const files = conformanceFiles();
  assert.ok(files.length > 20, `found only ${files.length} files under ${HERE}`);
  const found = files.flatMap((f) => offences(relative(HERE, f), readFileSync(f, "utf8")));
  assert.deepEqual(found, [], "move these tests to tests/store/sqlite/ or use the Store API");
});

Deno.test("the conformance check catches each forbidden use it names", () => {
  const cases = [
    'import { DatabaseSync } from "node:sqlite";',
    "const before = snapshot(b.path);",
    "using db = rawDb(location);",
    'import { rawDb } from "./sqlite/_raw.ts";',
    'db.exec("pragma user_version = 9");',
    "await using b = setup();",
    "const target = join(b.dir, 'x');",
    "await b.store.backup(b.store.path + '.bak');",
    "const bytes = readFileSync(b.location);",
    "using s = openStore(b.location);",
  ];
  for (const line of cases) {
    assert.notDeepEqual(offences("some_test.ts", line), [], `not caught: ${line}`);
  }
  assert.deepEqual(offences("_drivers.ts", "return await openStore(location, options);"), []);
  assert.deepEqual(offences("some_test.ts", "using other = await drv.open(b.location);"), []);
});
