#!/bin/sh
# Fake agent: never heartbeats, but prints steadily (progress the dispatcher can see).
i=0
while [ "$i" -lt "${LINES_OUT:-15}" ]; do
  echo "line $i: $(printf '%0100d' 0)"
  sleep 0.2
  i=$((i + 1))
done
kanban complete --summary "printed $i lines" >/dev/null
