#!/bin/sh
# Chaos agent: does one of several things at random, like a real, unreliable agent would.
r=$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')
nap() { sleep "0.$(od -An -N1 -tu1 /dev/urandom | tr -d ' ' | cut -c1)"; }
case $((r % 8)) in
  0) exit 3 ;;                                   # crash
  1) exit 0 ;;                                   # exit without reporting
  2) nap; exit 75 ;;                             # transient
  3) exec sleep 30 ;;                            # hang (the chaos loop kills or stops it)
  4) kanban heartbeat --note "beat" >/dev/null; nap; kanban heartbeat >/dev/null; nap
     kanban complete --summary "after beats" >/dev/null ;;
  *) nap; echo "working"; kanban complete --summary "done" --metadata '{"chaos":true}' >/dev/null ;;
esac
