#!/usr/bin/env bash
# Run every test. The Rasa model for tests is trained once (low-epoch config) and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x scripts/install-browser.sh ]; then
    bash scripts/install-browser.sh
fi
export PYTHONDONTWRITEBYTECODE=1
export RASA_TELEMETRY_ENABLED=false  # Rasa must never try to reach the internet
exec .venv/bin/python -m pytest -p no:cacheprovider -q "$@"
