#!/usr/bin/env bash
# Install into .venv with the test extras (safe to run again) and check the code with ruff: lint, then format.
source "$(dirname "$0")/_venv.sh" lab,test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
