#!/bin/sh
# Fake agent: asks a person a question.
kanban block "Which database should I use?" >/dev/null
