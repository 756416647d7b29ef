#!/bin/sh
# Fake agent: hangs silently (no output, no heartbeat).
exec sleep 1000
