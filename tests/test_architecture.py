"""The package's layering, checked by import-linter with the contracts in pyproject.toml."""

import ast
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"  # installed with the test extras
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_architecture_page_is_the_codes():
    """Its generated parts are made from the contracts and the docstrings; every name it gives exists."""
    check = subprocess.run([sys.executable, "scripts/architecture.py", "--check"], cwd=ROOT, capture_output=True,
                           text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    text = (ROOT / "docs" / "architecture.md").read_text()
    for dotted in set(re.findall(r"`(nnlearn(?:\.\w+)+)`", text)):
        assert _defined(dotted), f"docs/architecture.md names {dotted}, which the code does not define"
    for path in set(re.findall(r"`(nnlearn/[\w/]+\.py)`", text)):
        assert (ROOT / path).is_file(), path


def _defined(dotted: str) -> bool:
    """Whether a dotted name is a module of nnlearn, or a name defined at the top of one (read, not imported:
    some of them import TensorFlow)."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:split])
        module = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if module.is_file():
            rest = parts[split:]
            break
    else:
        return False
    if not rest:
        return True
    names = set()
    for node in ast.parse(module.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return rest[0] in names
