#!/bin/sh
# Fake agent: its model provider answers 429, as a CLI prints it after its own retries.
echo "calling the model"
echo "Error: 429 Too Many Requests (rate_limit_error)" >&2
echo "retry-after: 600" >&2
exit 1
