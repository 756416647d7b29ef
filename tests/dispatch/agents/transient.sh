#!/bin/sh
# Fake agent: rate limited; asks to be retried later.
echo "429 Too Many Requests" >&2
exit 75
