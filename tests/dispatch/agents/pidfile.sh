#!/bin/sh
# Fake agent: records its pid in $OUT/<run>.pid, works quietly until a release file appears,
# then completes saying which host ran it ($WORKER_HOST).
echo "$$" >"$OUT/$KANBAN_RUN.pid"
while [ ! -e "$RELEASE_FILE" ]; do sleep 0.1; done
kanban complete --summary "done on $WORKER_HOST" >/dev/null
