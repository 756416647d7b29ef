#!/bin/sh
# Fake agent: crashes at start.
echo "about to fail" >&2
exit 3
