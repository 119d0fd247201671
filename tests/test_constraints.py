"""constraints.txt pins every package pyproject.toml asks for, so the README's installs get the versions the
suite was run with."""

import re
from importlib import metadata

from tests.conftest import ROOT


def _name(requirement: str) -> str:
    return re.match(r"[A-Za-z0-9_.-]+", requirement)[0].lower().replace("_", "-")


def test_every_dependency_and_extra_is_pinned():
    wanted = {_name(requirement) for requirement in metadata.requires("nnlearn")}  # with every extra's
    pinned = {_name(line) for line in (ROOT / "constraints.txt").read_text().splitlines()
              if re.match(r"^[A-Za-z0-9_.-]+==", line)}
    assert wanted - pinned == set(), "refresh constraints.txt: scripts/refresh_constraints.sh"


def test_both_readme_commands_install_with_the_constraints():
    readme = (ROOT / "README.md").read_text()
    commands = [line.strip() for line in readme.splitlines() if "pip install" in line and "python3 -m venv" in line]
    assert len(commands) == 2 and all("-c constraints.txt" in command for command in commands), commands
