"""A command that loads TensorFlow says what it is doing before it does (about 5 s of silence otherwise), and
what it prints into a pipe or a log fits COLUMNS, else 100 characters."""

import subprocess
import sys

import pytest

from tests.conftest import MOONS, ROOT

# the first line of train, and whether TensorFlow was loaded when it was printed
BEFORE_TENSORFLOW = """
import sys
from nnlearn.cli import display
said = display.EpochProgress.run_started
def run_started(self, *arguments):
    said(self, *arguments)
    print("tensorflow loaded:", "tensorflow" in sys.modules, flush=True)
display.EpochProgress.run_started = run_started
from nnlearn.cli.app import main
sys.argv = ["nnlearn", "train", "moons.yaml", "--no-plots", "--set", "fit.epochs=1"]
main()
"""


def nnlearn(*arguments, cwd, columns: str | None = None) -> subprocess.CompletedProcess:
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    if columns is not None:
        environment["COLUMNS"] = columns
    return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, cwd=cwd, env=environment,
                          timeout=300)


@pytest.mark.tensorflow
def test_train_names_its_run_before_tensorflow_is_imported(workdir):
    (workdir / "moons.yaml").write_text(MOONS)
    result = nnlearn("-c", BEFORE_TENSORFLOW, cwd=workdir)
    assert result.returncode == 0, result.stderr
    first, loaded = result.stdout.splitlines()[:2]
    assert first.startswith("Training moons → runs/moons-") and loaded == "tensorflow loaded: False"


@pytest.mark.tensorflow
@pytest.mark.parametrize("columns, width", [("80", 80), (None, 100)])
def test_piped_lines_fit_columns_else_100(workdir, columns, width):
    regression = ("data: {source: diabetes}\nmodel: {layers: [{type: dense, units: 8, activation: relu}, "
                  "{type: dense, units: 1}]}\ncompile: {loss: mean_squared_error}\nfit: {epochs: 3}\n")
    (workdir / "regression.yaml").write_text(regression)
    result = nnlearn("-m", "nnlearn", "train", "regression.yaml", "--no-plots", cwd=workdir, columns=columns)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    epochs = [line for line in lines if line.startswith("epoch")]
    assert epochs and max(len(line) for line in lines) <= width
    assert any(line.startswith(" ") and "val_mse" in line for line in lines)  # the long list went on below
