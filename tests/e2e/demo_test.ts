/**
 * Runs scripts/demo (the stories of docs/guide.md: the compiled binary, a real `kanban dispatch`
 * in the background, fake agents) and checks that each story ends as the guide says, and that
 * the guide shows the commands and text the demo runs now. The stories run at once, each
 * as its own `scripts/demo --markdown STORY` process on its own board (about 15 s together;
 * the whole demo in sequence takes about 35 s).
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { BINARY } from "./_binary.ts";
import { tempDir } from "../_setup.ts";

const DEMO = fileURLToPath(new URL("../../scripts/demo", import.meta.url));
const GUIDE = fileURLToPath(new URL("../../docs/guide.md", import.meta.url));
const STORIES = [
  "solo",
  "fleet",
  "review",
  "loop",
  "breaker",
  "blocks",
  "attach",
  "routine",
  "plan",
] as const;
const TIMEOUT_MS = 150_000;

interface Run {
  story: string;
  code: number | string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function demo(story: string, home: string): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      "bash",
      [DEMO, "--markdown", story],
      {
        env: {
          PATH: "/usr/bin:/bin",
          HOME: home,
          TMPDIR: home,
          KANBAN_DEMO_NO_BUILD: "1", // the suite builds dist/kanban first
          KANBAN_DEMO_MACHINE_OFF: "1", // the suite's own load must not hold its workers
        },
        timeout: TIMEOUT_MS,
        killSignal: "SIGTERM", // the demo's trap stops its dispatcher and removes its home
        maxBuffer: 16 * 1024 * 1024,
        encoding: "utf8",
      },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: number | string }).code ?? "killed" : 0;
        resolve({ story, code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/**
 * skeleton keeps what does not change from run to run: headings, prose and config blocks, and
 * the commands (`$ ...`) of console blocks, without their output; task ids and run numbers are
 * normalised.
 */
function skeleton(md: string): string[] {
  let inConsole = false;
  const out: string[] = [];
  for (const line of md.split("\n")) {
    if (line === "```console") inConsole = true;
    else if (inConsole && line === "```") inConsole = false;
    else if (inConsole && !line.startsWith("$ ")) continue;
    out.push(
      line.replace(/t_[0-9a-f]{8}/g, "t_ID").replace(/\brun-\d+\b/g, "run-N").replace(
        /--run \d+/g,
        "--run N",
      ),
    );
  }
  return out;
}

/** section is the story's part of a --markdown output (from the blank line before "## "). */
const section = (md: string) => md.slice(md.indexOf("\n## "));

Deno.test({
  name: "scripts/demo runs the guide's stories against the binary and each ends as described",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: run scripts/build first`);
    using tmp = tempDir("kanban-demo-test-");
    const runs = await Promise.all(STORIES.map((s) => demo(s, tmp.dir)));
    for (const r of runs) {
      assert.equal(
        r.code,
        0,
        `scripts/demo ${r.story} exited ${r.code} after ${r.ms} ms:\n${r.stderr}\n${
          r.stdout.slice(-3000)
        }`,
      );
    }
    const out = Object.fromEntries(runs.map((r) => [r.story, r.stdout])) as Record<
      (typeof STORIES)[number],
      string
    >;

    // 1. solo: the chain ran in order, and each worker got and used its parent's handoff.
    assert.match(
      out.solo,
      /t_\w+ {2}done +normal +coder +schema\nt_\w+ {2}done +normal +coder +api\n/,
    );
    assert.match(out.solo, /### t_\w+: schema \(done\)\n\nSummary:\n> Wrote schema\.md\n/);
    assert.match(out.solo, /Metadata: `\{"artifact":"\$KANBAN_HOME\/[^"]+\/schema\.md"\}`/);
    assert.match(out.solo, /^read the handoff of a parent task: \$KANBAN_HOME\/.+\/schema\.md$/m);

    // 2. fleet: 30 tasks done; the workers never saw more running than the caps allow.
    const peak = /^30 workers reported; most running at once: (\d+)$/m.exec(out.fleet);
    assert.ok(peak, "fleet: demo-peak's report is missing");
    assert.ok(Number(peak[1]) <= 4, `fleet: ${peak[1]} workers at once, max_workers is 4`);
    for (const [profile, cap] of [["backend", 2], ["frontend", 2], ["qa", 1]] as const) {
      const m = new RegExp(`^ {2}${profile}: (\\d+) at once$`, "m").exec(out.fleet);
      assert.ok(m && Number(m[1]) <= cap, `fleet: ${profile} ran ${m?.[1]} at once (cap ${cap})`);
    }
    assert.match(out.fleet, /^ {2}done +30$/m);
    assert.match(out.fleet, /^workers: \d\/4$/m);

    // 3. review: the retry's prompt held the rejection, the worker acted on it, approval ends it.
    assert.match(out.review, /^> Review rejected: Also return a Retry-After header\.$/m);
    assert.match(
      out.review,
      /^read the rejection of the earlier attempt: Also return a Retry-After header\.$/m,
    );
    assert.match(
      out.review,
      /t_\w+ {2}done +normal +coder +rate limiter\nt_\w+ {2}done +normal +writer/,
    );

    // 4. loop: the critic asked for changes in round 1 and approved round 2, which it was given
    // the coder's revision to judge; the release notes then ran.
    assert.match(
      out.loop,
      /^round 1; the handoff in my prompt:\n {2}Wrote rate-limiter\.md\nrequested changes$/m,
    );
    assert.match(
      out.loop,
      /^round 2; the handoff in my prompt:\n {2}Revised rate-limiter\.md after the review: Also return a Retry-After header when the limit is hit\.\napproved$/m,
    );
    assert.match(out.loop, /review_approved -> done {2}\(critic, run 4\)/);
    assert.match(out.loop, /^t_\w+ {2}done +normal +writer +release notes$/m);

    // 5. breaker: the broken profile's task is blocked with the reason; the flaky one recovered.
    assert.match(
      out.breaker,
      /! breaker tripped: t_\w+ \(importer\): 3 consecutive failed attempts; last: crashed: exit code 3/,
    );
    assert.match(out.breaker, /t_\w+ {2}blocked +normal +importer +nightly import/);
    assert.match(
      out.breaker,
      /completed +- +- +Synced on attempt 2\n.*crashed +- +- +killed by SIGSEGV/,
    );

    // 6. blocks: the dependency was promoted by its parent, the outage retried without a
    // failure, the capability block handed the task on, the loop breaker sent one to triage.
    assert.match(out.blocks, /t_\w+ {2}todo \(dependency\) +normal +client +checkout page/);
    assert.match(out.blocks, /completed +- +- +Payments API up\n.*transient +- +- +the payments/);
    assert.match(out.blocks, /completed +- +- +Built the checkout page on the payments API/);
    assert.match(
      out.blocks,
      /gpu +\S+ \S+ +\S+ +completed .*\n.*coder .* blocked +- +- +needs a CUDA/,
    );
    assert.match(out.blocks, /triage +\S+ +price list +blocked 3 times for needs_input: Which/);

    // 9. plan: the orchestrator saw the roster, planned two tasks, and they ran in order.
    assert.match(out.plan, /^ {2}`coder`: writes code and schemas$/m);
    assert.match(out.plan, /t_\w+: planned 2 tasks; it waits for them \(todo\)/);
    assert.match(out.plan, /t_\w+ {2}review +normal +- +rate limits for the API/);
    // Both were created in one transaction, often in the same millisecond: the list breaks that
    // tie by id, which is random, so the two rows may come in either order.
    assert.match(out.plan, /^t_\w+ {2}done +normal +coder +schema$/m);
    assert.match(out.plan, /^t_\w+ {2}done +normal +coder +api$/m);
    assert.match(out.plan, /t_\w+ {2}done {2}rate limits for the API/);

    // 8. routine: run-now once per key, one occurrence fired by the dispatcher, then paused.
    assert.match(out.routine, /^already fired by key first: 1 task\(s\) \(nothing changed\)$/m);
    assert.match(
      out.routine,
      /t_\w+ {2}done +normal +writer +Write the minute digest\nt_\w+ {2}done +normal +writer +Write the minute digest\n/,
    );
    assert.match(
      out.routine,
      /routine_fired at 20\d\d-\d\d-\d\dT\d\d:\d\d:00\.000Z +\(routine:digest\)/,
    );
    assert.match(
      out.routine,
      /^routines:\n {2}NAME +NEXT +CRON\n {2}digest +paused +\* \* \* \* \* \(UTC\)$/m,
    );

    // 7. attach: the worker read the attached log from its workspace, attached its report, and
    // gc removed both with the archived task.
    assert.match(
      out.attach,
      /^- `\.kanban\/attachments\/t_\w+\/crash\.log` \(81 bytes, text\/plain\)$/m,
    );
    assert.match(
      out.attach,
      /^read the attachment \.kanban\/attachments\/t_\w+\/crash\.log \(3 lines\)$/m,
    );
    assert.match(out.attach, /^report\.md {2}\d+ B {2}text\/markdown {2}by analyst at /m);
    assert.match(out.attach, /^First error: 12:00:02 ERROR disk full on \/var$/m);
    assert.match(
      out.attach,
      /it is larger than the board's cap of 5 MiB \(attachments\.max_bytes\)/,
    );
    assert.match(out.attach, /removed 1 workspace\(s\), \d+ log file\(s\), 2 attachment\(s\)/);
    assert.match(out.attach, /\nno attachments\n/);

    // The guide is the demo's own output: same headings, prose, configs and commands.
    const guide = readFileSync(GUIDE, "utf8");
    const fresh = out.solo.slice(0, out.solo.indexOf("\n## ")) +
      STORIES.map((s) => section(out[s])).join("");
    const [want, have] = [skeleton(fresh), skeleton(guide)];
    const i = want.findIndex((line, n) => line !== have[n]);
    assert.ok(
      i === -1 && want.length === have.length,
      `docs/guide.md differs from what scripts/demo runs now (regenerate it with ` +
        `scripts/demo --markdown > docs/guide.md); line ${i + 1} of the skeleton:\n` +
        `  guide: ${have[i] ?? "(end)"}\n  demo:  ${want[i] ?? "(end)"}`,
    );
  },
});
