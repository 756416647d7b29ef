#!/bin/sh
# Fake agent for a task with a completion gate: completes, saying whether its prompt told it of
# a failed gate; prints what kanban answered (its gate runs once this script exits).
if grep -q '^## Completion gate failed' "$KANBAN_PROMPT_FILE"; then
  summary="fixed what the gate reported"
else
  summary="first try"
fi
kanban complete --summary "$summary" --result "$summary"
