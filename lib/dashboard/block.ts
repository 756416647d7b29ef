/// <reference lib="dom" />
/**
 * The drawer's Block…: a block of any of the four kinds (lib/store/blocks.ts, docs/blocks.md),
 * each with the field it takes, sent as `POST /api/v1/tasks/{id}/block`: needs_input (a
 * question for a person), dependency (the task it waits on), transient (when to retry) and
 * capability (the profile that should take it). The dialog says where each kind takes the task
 * from its status. A refusal (an unknown task to wait on, a kind that stops a run on a task
 * that is not running, ...) is shown in the dialog with the server's message, the answer kept
 * for another try. A drop on the Blocked column stays a plain block (state.ts drop()).
 */
import { parseDuration } from "../config/duration.ts";
import { blockLanding } from "../store/actions.ts";
import { BLOCK_KINDS, type BlockKind } from "../store/blocks.ts";
import { api, type Task } from "./api.ts";
import { askChoice, message, type PromptChoice, type PromptField } from "./state.ts";

/** What each kind is called in the list, what its reason answers, and what else it takes. */
const KINDS: Record<BlockKind, { label: string; ask: string; fields?: PromptField[] }> = {
  needs_input: {
    label: "Needs input: wait for a person",
    ask: "Why is it blocked? (a question for a person)",
  },
  dependency: {
    label: "Dependency: wait for another task",
    ask: "Why does it wait for that task?",
    fields: [{
      name: "on",
      label: "Waits for (a task id or prefix)",
      placeholder: "t_3fa9c2d1",
      required: true,
    }],
  },
  transient: {
    label: "Transient: retry later (not a failure)",
    ask: "What went wrong? (say, the service that did not answer)",
    fields: [{
      name: "retry_after",
      label: "Retry after (optional)",
      placeholder: "10m (default: the failure backoff)",
    }],
  },
  capability: {
    label: "Capability: another profile should take it",
    ask: "What does it need that this profile lacks?",
    fields: [{
      name: "profile",
      label: "Profile that should take it (optional; none: to triage)",
      placeholder: "a profile name",
    }],
  },
};

/** Where a running task's block goes, by kind (the queue: todo, scheduled or ready). */
const FROM_RUNNING: Record<Exclude<BlockKind, "needs_input">, string> = {
  dependency: "The run stops; the task is linked as that task's child and waits in the queue " +
    "until it is done.",
  transient: "The run stops; the task is claimed again after the delay. Not counted as a failure.",
  capability: "With a profile: the run stops, and the task is reassigned to it and queued. " +
    "Without: to Triage, for a person or an orchestrator to choose.",
};

/** hint says where a block of `kind` takes a task in `status`, or that the board refuses it. */
function hint(kind: BlockKind, status: Task["status"]): string {
  if (kind === "needs_input") {
    return "To Blocked, until a person answers (Unblock, or Reply in the inbox).";
  }
  if (blockLanding(status, { kind, profile: true }) !== null) return FROM_RUNNING[kind];
  const only = `It stops a run: this task is ${status}, not running, so the board refuses it`;
  switch (kind) {
    case "dependency":
      return `${only} (add the task it waits for under Dependencies instead).`;
    case "transient":
      return `${only} (nothing to retry).`;
    case "capability":
      return "Without a profile: to Triage, for a person or an orchestrator to choose. With one, " +
        `${only.charAt(0).toLowerCase()}${only.slice(1)} (change its assignee instead).`;
  }
}

/** blockChoices are the four kinds for a task in `status`; `profiles` are suggested. */
export function blockChoices(status: Task["status"], profiles: readonly string[]): PromptChoice[] {
  return BLOCK_KINDS.map((kind) => {
    const k = KINDS[kind];
    return {
      value: kind,
      label: k.label,
      ask: k.ask,
      hint: hint(kind, status),
      fields: k.fields?.map((f) => f.name === "profile" ? { ...f, suggest: profiles } : f),
    };
  });
}

/**
 * blockBody is the block request for `kind` with its reason and fields, or the message that says
 * which field is wrong (a retry delay that is no duration).
 */
export function blockBody(
  kind: BlockKind,
  reason: string,
  fields: Record<string, string>,
): Record<string, unknown> | string {
  const body: Record<string, unknown> = { reason, kind };
  const field = (name: string) => fields[name]?.trim() ?? "";
  if (kind === "dependency") body["on"] = field("on");
  if (kind === "capability" && field("profile") !== "") body["profile"] = field("profile");
  if (kind === "transient" && field("retry_after") !== "") {
    try {
      body["retry_after_seconds"] = parseDuration(field("retry_after"));
    } catch (err) {
      return `Retry after: ${message(err)}`;
    }
  }
  return body;
}

/**
 * askBlock asks for a block of `task` of any kind and sends it, the dialog open until the board
 * takes it (its refusals shown there). True when the task was blocked, false when the person
 * cancelled.
 */
export async function askBlock(task: Task, profiles: readonly string[]): Promise<boolean> {
  let blocked = false;
  await askChoice({
    title: `Block "${task.title}"`,
    label: KINDS.needs_input.ask,
    required: true,
    ok: "Block",
    choices: blockChoices(task.status, profiles),
    send: async (answer) => {
      const kind = (answer.choice ?? "needs_input") as BlockKind;
      const body = blockBody(kind, answer.text, answer.fields);
      if (typeof body === "string") return body;
      try {
        await api.act(task.id, "block", body);
      } catch (err) {
        return message(err);
      }
      blocked = true;
      return null;
    },
  });
  return blocked;
}
