#!/usr/bin/env bash
# The typescript library target's install: see setup-lib.sh (atcheck's tool table names one script per tool).
exec bash "$(dirname "${BASH_SOURCE[0]}")/setup-lib.sh" typescript "$@"
