#!/bin/sh
# Fake completion gate: counts its runs in the workspace (its working directory) and fails the
# first $GATE_FAILS of them (from the profile's env), then passes; sleeps $GATE_SLEEP seconds
# first when set. $1 is the task ({task}).
n=$(cat gate-runs 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >gate-runs
echo "$1" >gate-task
echo "$$" >gate-pid
if [ -n "${GATE_SLEEP:-}" ]; then sleep "$GATE_SLEEP"; fi
echo "$n" >gate-finished
if [ "$n" -le "${GATE_FAILS:-0}" ]; then
  echo "gate token: ${KANBAN_TOKEN:-none}"
  echo "FAIL check $n: expected 2, got 3"
  exit 4
fi
echo "all checks passed"
