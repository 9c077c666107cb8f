#!/usr/bin/env bash
# Install into .venv with the test extras (safe to run again) and run every test, notebooks included.
source "$(dirname "$0")/_venv.sh" lab,test
exec .venv/bin/python -m pytest "$@"
