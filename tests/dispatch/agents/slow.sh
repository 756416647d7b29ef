#!/bin/sh
# Fake agent: works quietly for a while (until a release file appears), then completes.
while [ ! -e "$RELEASE_FILE" ]; do sleep 0.1; done
kanban complete --summary "slow one done" >/dev/null
