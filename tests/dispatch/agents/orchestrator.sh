#!/bin/sh
# Fake orchestrator: when its prompt asks it to decompose the task, it submits a two-step plan
# for the coder profile (named on the roster it was given); when its task comes back after the
# plan's tasks are done, it reviews (completes) it.
set -e
if grep -q '^## Decompose this task' "$KANBAN_PROMPT_FILE"; then
  grep -q '^- `coder`: writes code' "$KANBAN_PROMPT_FILE"
  cat > plan.json <<'JSON'
{"summary": "two steps, one after the other",
 "tasks": [{"ref": "a", "title": "Step A", "body": "first", "assignee": "coder"},
           {"ref": "b", "title": "Step B", "body": "second", "assignee": "coder", "after": ["a"]}]}
JSON
  kanban plan submit plan.json >/dev/null
else
  grep -q "^## Review the plan's results" "$KANBAN_PROMPT_FILE"
  kanban complete --summary "reviewed: both steps are done" >/dev/null
fi
