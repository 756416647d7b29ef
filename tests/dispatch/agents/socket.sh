#!/bin/sh
# Fake agent for the worker socket: records its environment and what each kanban call
# answered (exit code, stdout, stderr) in $OUT/<name>.*, then completes. $OTHER is a task
# that is not its own. With MODE=block it blocks its task instead of completing it. It copies
# the task's attachment brief.txt (if any) to $OUT/brief and attaches a file of its own.
env > "$OUT/env"
try() {
  name=$1
  shift
  "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"
  echo $? >"$OUT/$name.code"
}
try show kanban show --json
try heartbeat kanban heartbeat --note "starting" --json
try comment kanban comment "looking into it" --json
try create kanban create "follow-up" --assignee reviewer --parent "$KANBAN_TASK" --json
try foreign kanban comment "$OTHER" "hijack" --json
try foreign_edit kanban edit "$OTHER" --title "hijacked" --json
try notify kanban notify list --json
try stale env KANBAN_TOKEN=not-a-token kanban show --json
# the task's attachments, written into the workspace by the dispatcher; one of its own back
cat ".kanban/attachments/$KANBAN_TASK/brief.txt" >"$OUT/brief" 2>/dev/null
printf 'from the worker\n' >answer.txt
try attach kanban attach "$KANBAN_TASK" answer.txt --json
if [ "$MODE" = block ]; then
  try block kanban block "which database?" --json
else
  try complete kanban complete --summary "done through the socket" --metadata '{"ok":true}' --json
fi
try after kanban show --json
