#!/bin/sh
# Fake agent: reads the spec attached to its task from its workspace (where the prompt says it
# is), attaches its answer, and completes with the spec's first line.
spec=".kanban/attachments/$KANBAN_TASK/spec.txt"
[ -f "$spec" ] || { echo "no $spec in $(pwd)" >&2; exit 3; }
grep -q "$spec" "$KANBAN_PROMPT_FILE" || { echo "the prompt does not list $spec" >&2; exit 4; }
tr 'a-z' 'A-Z' < "$spec" > answer.txt
kanban attach "$KANBAN_TASK" answer.txt >/dev/null || exit 5
kanban complete --summary "spec: $(head -n 1 "$spec")" >/dev/null
