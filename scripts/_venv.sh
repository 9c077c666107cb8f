# Shared by lab.sh and test.sh: make (or reuse) .venv and install the package into it.
# Usage: source scripts/_venv.sh EXTRAS   (EXTRAS like "lab" or "lab,test")
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[$1]"
