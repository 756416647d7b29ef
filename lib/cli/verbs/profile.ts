/**
 * `kanban profile holds|release`: profiles held for their account's limits (docs/quotas.md).
 * A dispatcher holds a profile whose agent CLI met a rate limit or an exhausted quota until the
 * reset time the CLI reported (or a backoff), and one whose CLI could not sign in until a
 * person releases it.
 */
import type { Command } from "@commander-js/extra-typings";
import type { ProfileHold } from "../../store/mod.ts";
import { type CliContext, session } from "../context.ts";
import { emit } from "../output.ts";
import { table } from "../render.ts";

/** holdLine is one hold for a person: the profile, why, until when. */
export function holdLine(h: ProfileHold): string {
  const until = h.until === null ? "until released (kanban profile release)" : `until ${h.until}`;
  return `${h.profile}: ${h.kind} ${until} (${h.reason})`;
}

export function register(program: Command, ctx: CliContext): void {
  const profile = program.command("profile")
    .description("profiles held for a rate limit, quota or failed sign-in (docs/quotas.md)");

  profile.command("holds")
    .description("the profiles held now (--all: ended holds still counted for the backoff too)")
    .option("--all", "also the holds that have ended")
    .action(async (opts, cmd) => {
      using s = session(ctx, cmd);
      const holds = (await s.store.profileHolds()).filter((h) => opts.all || h.active);
      emit(ctx, s.json, holds, () => {
        if (holds.length === 0) return "no profile is held";
        return table([
          ["PROFILE", "KIND", "UNTIL", "IN A ROW", "TASK", "HOST", "REASON"],
          ...holds.map((h) => [
            h.profile,
            h.kind,
            h.until ?? "released by a person",
            String(h.holds),
            h.task ?? "-",
            h.host,
            h.reason.length > 80 ? `${h.reason.slice(0, 79)}…` : h.reason,
          ]),
        ]);
      });
    });

  profile.command("release")
    .description(
      "end a profile's hold now (after fixing its credentials); tasks a failed sign-in " +
        "blocked return to the queue",
    )
    .argument("<profile>", "the held profile")
    .action(async (name, _opts, cmd) => {
      using s = session(ctx, cmd);
      const r = await s.store.releaseHold(name, s.actor);
      emit(
        ctx,
        s.json,
        r,
        () =>
          `released profile ${name} (${r.hold.kind})${
            r.unblocked.length > 0 ? `; unblocked ${r.unblocked.join(", ")}` : ""
          }`,
      );
    });
}
