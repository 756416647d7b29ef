#!/bin/sh
# Fake agent: works quietly for a while (until a release file appears), then completes. Bounded:
# it gives up after 2 minutes, or as soon as the release file's folder is gone (the test ended
# and removed its temporary folder while this worker was left running).
i=0
while [ ! -e "$RELEASE_FILE" ]; do
  [ -d "$(dirname "$RELEASE_FILE")" ] && [ "$i" -lt 1200 ] || exit 1
  i=$((i + 1))
  sleep 0.1
done
kanban complete --summary "slow one done" >/dev/null
