/**
 * What a decomposition request holds, from config.toml (docs/decompose.md): `kanban decompose`
 * and the dispatcher's decompose service (decompose.auto) both ask through decomposeRequest.
 */
import type { Config } from "../config/config.ts";
import { type DecomposeRequest, KanbanError, type PlanReview } from "../store/mod.ts";

/**
 * decomposeRequest is what `kanban decompose` asks, from config.toml and the options: the
 * orchestrator (--profile, else decompose.profile, else a profile named "orchestrator"), the
 * roster (every other profile of this host, with its description), who reviews, and approval.
 */
export function decomposeRequest(
  config: Config,
  opts: {
    profile?: string | undefined;
    review?: PlanReview | undefined;
    approval?: boolean | undefined;
  },
): DecomposeRequest {
  const where = config.path ?? "config.toml (there is none)";
  const profile = opts.profile ?? config.decompose.profile ??
    (config.profiles["orchestrator"] ? "orchestrator" : undefined);
  if (profile === undefined) {
    throw new KanbanError(
      "usage",
      `No orchestrator profile: give --profile, or set decompose.profile in ${where}`,
    );
  }
  const roster = Object.entries(config.profiles)
    .filter(([name]) => name !== profile)
    .map(([name, p]) => ({ name, description: p.description ?? "" }));
  if (roster.length === 0) {
    throw new KanbanError(
      "usage",
      `No profile for a plan to assign work to: ${where} defines none but "${profile}"`,
    );
  }
  return {
    profile,
    roster,
    review: opts.review ?? config.decompose.review,
    approval: opts.approval ?? config.decompose.approval,
  };
}
