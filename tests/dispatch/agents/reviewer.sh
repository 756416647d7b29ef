#!/bin/sh
# Fake reviewer: requests changes in round 1 (a comment on line 1 of feature.txt), approves in
# round 2, with `kanban review`.
round=$(sed -n 's/^## Review this task (round \([0-9]*\) of [0-9]*)$/\1/p' "$KANBAN_PROMPT_FILE")
if [ "$round" = 1 ]; then
  kanban review --reject --reason "needs a test" --comment "feature.txt:1: say more than hello" >/dev/null
else
  kanban review --approve --reason "round $round: good" >/dev/null
fi
