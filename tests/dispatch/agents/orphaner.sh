#!/bin/sh
# Fake agent: starts a grandchild, completes, and exits, leaving the grandchild behind.
sleep 1000 &
echo "$!" > "$KANBAN_WORKSPACE/grandchild.pid"
kanban complete --summary "left a child" >/dev/null
