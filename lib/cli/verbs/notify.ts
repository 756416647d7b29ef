/**
 * `kanban notify add|list|remove|enable`: webhooks and commands that receive board events.
 * The dispatcher delivers them (in order, at least once, with retries); see
 * docs/notifications.md.
 */
import type { Command } from "@commander-js/extra-typings";
import { KNOWN_EVENT_KINDS, type Subscription, type SubscriptionInput } from "../../store/mod.ts";
import { type CliContext, session, UsageError } from "../context.ts";
import { collect } from "../parse.ts";
import { emit } from "../output.ts";
import { table } from "../render.ts";

/** subscriptionId reads a subscription id (a positive integer) or fails with a usage error. */
function subscriptionId(text: string): number {
  const n = Number(text.trim().replace(/^#/, ""));
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(`"${text}" is not a subscription id (see kanban notify list)`);
  }
  return n;
}

function filterText(s: Subscription): string {
  const parts = [
    s.task_id ? `task ${s.task_id}` : "",
    s.tenant ? `tenant ${s.tenant}` : "",
    s.assignee ? `assignee ${s.assignee}` : "",
    s.kinds ? `events ${s.kinds.join(",")}` : "",
  ].filter(Boolean);
  return parts.length > 0 ? parts.join("; ") : "all events";
}

function stateText(s: Subscription): string {
  if (s.state === "retrying") return `retrying (${s.failures} failed, next ${s.next_attempt_at})`;
  if (s.state === "disabled") return `disabled after ${s.failures} failures`;
  return s.state;
}

function rows(subs: Subscription[]): string {
  if (subs.length === 0) return "No subscriptions.";
  return table([
    ["ID", "KIND", "TARGET", "FILTER", "STATE", "SENT", "LAST ERROR"],
    ...subs.map((s) => [
      String(s.id),
      s.kind + (s.has_secret ? " (signed)" : ""),
      s.target,
      filterText(s),
      stateText(s),
      String(s.delivered),
      s.last_error ?? "",
    ]),
  ]);
}

export function register(program: Command, ctx: CliContext): void {
  const notify = program.command("notify")
    .description("send board events to webhooks or commands (add, list, remove, enable)");

  notify.command("add")
    .description("subscribe a webhook or a command to board events")
    .option("--webhook <url>", "POST each event as JSON to this http(s) URL")
    .option("--secret <secret>", "sign webhook bodies: x-kanban-signature: sha256=HMAC")
    .option("--command <cmd>", "run `sh -c CMD` with each event's JSON on stdin")
    .option("--task <id>", "only this task's events (ends when the task is done or archived)")
    .option("--tenant <tenant>", "only events of this tenant's tasks")
    .option("--assignee <profile>", "only events of tasks assigned to this profile")
    .option(
      "--event <kind>",
      "only these event kinds (repeatable or comma-separated), e.g. completed,blocked",
      collect,
    )
    .action(async (opts, cmd) => {
      if ((opts.webhook === undefined) === (opts.command === undefined)) {
        throw new UsageError("Give exactly one of --webhook URL or --command CMD");
      }
      if (opts.secret !== undefined && opts.webhook === undefined) {
        throw new UsageError("--secret signs webhooks; a --command subscription has no use for it");
      }
      const kinds = (opts.event ?? []).flatMap((k) => k.split(",")).map((k) => k.trim())
        .filter(Boolean);
      const filters = {
        ...(opts.task !== undefined ? { task: opts.task } : {}),
        ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
        ...(opts.assignee !== undefined ? { assignee: opts.assignee } : {}),
        ...(kinds.length > 0 ? { kinds } : {}),
      };
      const input: SubscriptionInput = opts.webhook !== undefined
        ? {
          kind: "webhook",
          target: opts.webhook,
          ...(opts.secret !== undefined ? { secret: opts.secret } : {}),
          ...filters,
        }
        : { kind: "command", target: opts.command!, ...filters };
      using s = session(ctx, cmd);
      const sub = await s.store.addSubscription(input, s.actor);
      const unknown = kinds.filter((k) => !KNOWN_EVENT_KINDS.includes(k));
      if (unknown.length > 0) {
        // Not an error (new kinds may come), but a typo would silently match nothing.
        ctx.stderr(
          `kanban: warning: no event of kind ${unknown.map((k) => `"${k}"`).join(", ")} ` +
            `is written today (known: ${KNOWN_EVENT_KINDS.join(", ")})\n`,
        );
      }
      emit(
        ctx,
        s.json,
        sub,
        () =>
          `Subscription ${sub.id}: ${sub.kind} ${sub.target} (${filterText(sub)}), ` +
          `from event #${sub.cursor} on`,
      );
    });

  notify.command("list")
    .alias("ls")
    .description("list subscriptions with their state, deliveries and last error")
    .action(async (_opts, cmd) => {
      using s = session(ctx, cmd);
      const subs = await s.store.listSubscriptions();
      emit(ctx, s.json, subs, () => rows(subs));
    });

  notify.command("remove")
    .alias("rm")
    .description("delete a subscription")
    .argument("<id>", "subscription id (see notify list)")
    .action(async (id, _opts, cmd) => {
      const n = subscriptionId(id);
      using s = session(ctx, cmd);
      const sub = await s.store.removeSubscription(n);
      emit(ctx, s.json, sub, () => `Subscription ${sub.id} removed (${sub.kind} ${sub.target})`);
    });

  notify.command("enable")
    .description("re-enable a disabled subscription; the events it missed are delivered")
    .argument("<id>", "subscription id (see notify list)")
    .action(async (id, _opts, cmd) => {
      const n = subscriptionId(id);
      using s = session(ctx, cmd);
      const sub = await s.store.enableSubscription(n);
      emit(
        ctx,
        s.json,
        sub,
        () => `Subscription ${sub.id} enabled; delivery resumes after event #${sub.cursor}`,
      );
    });
}
