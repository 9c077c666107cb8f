#!/usr/bin/env bash
# Install into .venv (safe to run again) and open the notebooks in JupyterLab.
source "$(dirname "$0")/_venv.sh" lab
exec .venv/bin/jupyter lab notebooks/ "$@"
