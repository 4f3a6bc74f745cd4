#!/usr/bin/env bash
# Install what the web chat's browser tests need: Debian's Chromium and its driver,
# and axe-core from npm under tests/web/. Safe to run again; it skips what is there.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    echo "Installing Chromium and chromium-driver from Debian ..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver fonts-dejavu-core >/dev/null
fi

if [ ! -f "$root/tests/web/node_modules/axe-core/axe.min.js" ]; then
    if ! command -v npm >/dev/null; then
        echo "npm is needed for axe-core: install Node.js and npm first." >&2
        exit 1
    fi
    echo "Installing axe-core under tests/web/ ..."
    (cd "$root/tests/web" && npm ci --no-audit --no-fund --silent)
fi

echo "Browser test tools are ready: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
