#!/bin/sh
# Fake agent: records where it ran (and the git branch, if any), fails on its first attempt
# when asked to, and completes on the next.
echo "$(pwd) $(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo -)" >> "$KANBAN_WORKSPACE/where.txt"
if [ -n "$FAIL_FIRST" ] && [ "$(wc -l < "$KANBAN_WORKSPACE/where.txt")" -lt 2 ]; then exit 4; fi
kanban complete --summary "ran in $(pwd)" >/dev/null
