#!/bin/sh
# Fake agent: records its pid in $OUT/<run>.pid, works quietly until a release file appears,
# then completes saying which host ran it ($WORKER_HOST). Bounded as slow.sh is.
echo "$$" >"$OUT/$KANBAN_RUN.pid"
i=0
while [ ! -e "$RELEASE_FILE" ]; do
  [ -d "$(dirname "$RELEASE_FILE")" ] && [ "$i" -lt 1200 ] || exit 1
  i=$((i + 1))
  sleep 0.1
done
kanban complete --summary "done on $WORKER_HOST" >/dev/null
