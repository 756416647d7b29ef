#!/bin/sh
# Fake agent: reads its task, reports progress, completes with a handoff.
echo "working on $KANBAN_TASK in $(pwd)"
kanban heartbeat --note "starting" >/dev/null
kanban complete --summary "done by $KANBAN_PROFILE" --metadata '{"ok":true}' >/dev/null
