# Shared by lab.sh and test.sh: make (or reuse) .venv and install the package into it.
# Usage: source scripts/_venv.sh EXTRAS   (EXTRAS like "lab" or "lab,test")
# Safe to run again: the install is skipped while pyproject.toml and the extras are unchanged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.fewshot_lab-installed"
wanted="$1 $(.venv/bin/python -c 'import hashlib; print(hashlib.sha256(open("pyproject.toml", "rb").read()).hexdigest())')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$1]"
    echo "$wanted" > "$stamp"
fi
