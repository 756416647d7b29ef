/** The verb registry: each module adds one verb (or a small group) to the program. */
import type { Command } from "@commander-js/extra-typings";
import type { CliContext } from "../context.ts";
import * as init from "./init.ts";
import * as create from "./create.ts";
import * as list from "./list.ts";
import * as show from "./show.ts";
import * as edit from "./edit.ts";
import * as link from "./link.ts";
import * as claim from "./claim.ts";
import * as report from "./report.ts";
import * as attach from "./attach.ts";
import * as move from "./move.ts";
import * as runs from "./runs.ts";
import * as context from "./context.ts";
import * as stats from "./stats.ts";
import * as completions from "./completions.ts";
import * as dispatch from "./dispatch.ts";
import * as status from "./status.ts";
import * as why from "./why.ts";
import * as log from "./log.ts";
import * as gc from "./gc.ts";
import * as backup from "./backup.ts";
import * as doctor from "./doctor.ts";
import * as notify from "./notify.ts";
import * as watch from "./watch.ts";
import * as skills from "./skills.ts";
import * as mcp from "./mcp.ts";
import * as serve from "./serve.ts";
import * as diff from "./diff.ts";
import * as inbox from "./inbox.ts";
import * as transfer from "./transfer.ts";
import * as template from "./template.ts";
import * as plan from "./plan.ts";
import * as routine from "./routine.ts";
import * as budget from "./budget.ts";
import * as profile from "./profile.ts";

export type Register = (program: Command, ctx: CliContext) => void;

/** VERBS in the order `kanban --help` lists them. */
export const VERBS: Register[] = [
  init.register,
  create.register,
  list.register,
  show.register,
  edit.register, // edit, assign
  link.register, // link, unlink
  template.register, // template list, validate, show, run
  plan.register, // decompose, plan submit, approve, reject, show
  routine.register, // routine add, list, show, pause, resume, remove, run-now
  claim.register,
  report.register, // heartbeat, comment, complete, block
  attach.register, // attach, attachments, attachment get, detach
  move.register, // unblock, promote, cancel, archive, unarchive, reopen, review
  diff.register, // diff
  inbox.register, // inbox, reply
  runs.register,
  context.register,
  stats.register, // stats, assignees
  dispatch.register,
  status.register,
  why.register,
  budget.register, // budget add, list, remove
  profile.register, // profile holds, release
  serve.register,
  serve.registerLogin,
  log.register, // log, tail
  gc.register,
  backup.register,
  transfer.register, // export, import
  doctor.register,
  watch.register,
  notify.register, // notify add, list, remove, enable
  skills.register, // skills list, show, install
  mcp.register,
  completions.register,
];
