#!/bin/sh
# Fake agent for a task whose parent has a spec attached: finds the parent's spec in its
# workspace (where the prompt says it is) and completes with its first line.
for spec in .kanban/attachments/*/spec.txt; do
  [ -f "$spec" ] && [ "$spec" != ".kanban/attachments/$KANBAN_TASK/spec.txt" ] && break
  spec=
done
[ -n "$spec" ] || { echo "no parent's spec.txt in $(pwd)" >&2; exit 3; }
grep -q "$spec" "$KANBAN_PROMPT_FILE" || { echo "the prompt does not list $spec" >&2; exit 4; }
kanban complete --summary "parent spec: $(head -n 1 "$spec")" >/dev/null
