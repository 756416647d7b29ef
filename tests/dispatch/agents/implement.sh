#!/bin/sh
# Fake implementer: writes feature.txt in its workspace (a second line when its prompt quotes a
# review), then completes; on a task with a reviewer the completion is a hand-in for review.
if grep -q '^## Changes requested' "$KANBAN_PROMPT_FILE"; then
  printf 'hello\ntested\n' >feature.txt
  summary="feature.txt, with a test"
else
  printf 'hello\n' >feature.txt
  summary="feature.txt"
fi
kanban complete --summary "$summary" >/dev/null
