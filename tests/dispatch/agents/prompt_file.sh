#!/bin/sh
# Fake agent: keeps a copy of the prompt file it finds at start, then completes.
cp "$KANBAN_PROMPT_FILE" "$KANBAN_WORKSPACE/seen-prompt.md" || exit 3
kanban complete --summary "read my prompt" >/dev/null
