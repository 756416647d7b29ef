#!/bin/sh
# Fake agent: the service it needs is down; a transient block asks to be retried in a minute.
kanban block --kind transient --retry-after 60s "the payments API answers 503" >/dev/null
