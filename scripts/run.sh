#!/usr/bin/env bash
# Sets everything up and runs Vardeild on the embedded default (SQLite in ./var) with the demo
# constituency, web and API on http://127.0.0.1:8000. Arguments go to `vardeild demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export VARDEILD_DATA_DIR="${VARDEILD_DATA_DIR:-$PWD/var}"
# The demo also warns its members: notices, signed with the demo CERT key, land in var/outbox.
export VARDEILD_NOTIFY_IN_SERVE="${VARDEILD_NOTIFY_IN_SERVE:-true}"
exec .venv/bin/vardeild demo "$@"
