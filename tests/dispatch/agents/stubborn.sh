#!/bin/sh
# Fake agent: ignores SIGTERM (only SIGKILL stops it) and leaves a grandchild running.
trap '' TERM
sleep 1000 &
echo "$!" > "$KANBAN_WORKSPACE/grandchild.pid"
echo "started grandchild $!"
while :; do sleep 1; done
