#!/usr/bin/env bash
# Refresh constraints.txt, the versions both README commands install: the newest versions pyproject.toml
# allows, for every Python from 3.10 on and every platform (uv's universal resolution). Run
# scripts/newest_versions.sh first: it installs those versions and runs the whole suite with them.
#
#     scripts/refresh_constraints.sh            (keeps every pin that still fits pyproject.toml)
#     scripts/refresh_constraints.sh --upgrade  (moves every pin to the newest allowed)
set -euo pipefail
cd "$(dirname "$0")/.."
folder="$(mktemp -d)"
trap 'rm -rf "$folder"' EXIT
python3 -m venv "$folder/venv"
"$folder/venv/bin/pip" install -q uv
cp constraints.txt "$folder/constraints.txt"  # the pins uv keeps unless --upgrade
"$folder/venv/bin/uv" pip compile pyproject.toml --all-extras --universal --python-version 3.10 -q "$@" \
    --custom-compile-command "scripts/refresh_constraints.sh" -o "$folder/constraints.txt"
{
    echo "# The versions the test suite was run with: both README commands install with \`-c constraints.txt\`;"
    echo "# pyproject.toml keeps its ranges for people who use nnlearn as a library. Resolved for every Python from"
    echo "# 3.10 on and every platform; the suite was run with the Python 3.11 lines on Linux x86_64, as CI runs it."
    echo "# Try the newest allowed versions with scripts/newest_versions.sh, then refresh this file with"
    echo "# scripts/refresh_constraints.sh --upgrade."
    cat "$folder/constraints.txt"
} > constraints.txt
