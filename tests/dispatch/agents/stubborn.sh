#!/bin/sh
# Fake agent: ignores SIGTERM (only SIGKILL stops it) and leaves a grandchild running. Bounded:
# both give up after 5 minutes, the loop sooner once its workspace is gone.
trap '' TERM
sleep 300 &
echo "$!" > "$KANBAN_WORKSPACE/grandchild.pid"
echo "started grandchild $!"
i=0
while [ -d "$KANBAN_WORKSPACE" ] && [ "$i" -lt 300 ]; do
  i=$((i + 1))
  sleep 1
done
