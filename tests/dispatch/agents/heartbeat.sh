#!/bin/sh
# Fake agent: works longer than its lease, heartbeating, then completes.
i=0
while [ "$i" -lt "${BEATS:-6}" ]; do
  kanban heartbeat --note "step $i" >/dev/null || exit 9
  sleep 0.5
  i=$((i + 1))
done
kanban complete --summary "finished after $i heartbeats" >/dev/null
