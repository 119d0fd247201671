#!/usr/bin/env bash
# Try the newest versions pyproject.toml allows: install them in a fresh virtual environment (without
# constraints.txt), say which differ from constraints.txt, and run the whole test suite with them.
# When it passes, refresh constraints.txt with: scripts/refresh_constraints.sh --upgrade
#
#     scripts/newest_versions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
folder="$(mktemp -d)"
trap 'rm -rf "$folder"' EXIT
python3 -m venv "$folder/venv"
"$folder/venv/bin/pip" install -q --upgrade pip
"$folder/venv/bin/pip" install -q --upgrade --upgrade-strategy eager -e '.[test,tensorboard]'  # every package, not only ours
"$folder/venv/bin/python" - <<'PYTHON'
import importlib.metadata as metadata
import re

pinned = {}
for line in open("constraints.txt", encoding="utf-8"):
    match = re.match(r"^([A-Za-z0-9_.-]+)==([^ ;]+)(?: ; (.*))?$", line.strip())
    if match:
        from packaging.markers import Marker

        if match[3] is None or Marker(match[3]).evaluate():
            pinned[match[1].lower().replace("_", "-")] = match[2]
moved = []
for distribution in metadata.distributions():
    name = distribution.metadata["Name"].lower().replace("_", "-")
    if name in pinned and pinned[name] != distribution.version:
        moved.append(f"  {name}: {pinned[name]} -> {distribution.version}")
print("Not the version constraints.txt pins (pinned -> installed):" if moved else
      "Every version is the one constraints.txt pins.")
print("\n".join(sorted(moved)))
PYTHON
"$folder/venv/bin/python" -m pytest
