import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"

TINY = """\
name: tiny
seed: 0
data:
  source: iris
  test_split: 0.2
  validation_split: 0.1
model:
  layers:
    - {type: dense, units: 8, activation: relu}
    - {type: dense, units: 3, activation: linear}
compile:
  loss: sparse_categorical_crossentropy
  optimizer: {type: adam, learning_rate: 0.05}
fit:
  epochs: 3
  batch_size: 32
"""

# Two moons with a ReLU layer and dropout; replace EPOCHS.
MOONS = """\
name: moons
data: {source: moons, n_samples: 400, noise: 0.2}
model:
  layers:
    - {type: dense, units: 16, activation: relu}
    - {type: dropout, rate: 0.2}
    - {type: dense, units: 1}
compile: {loss: binary_crossentropy, optimizer: {learning_rate: 0.01}}
fit: {epochs: EPOCHS, batch_size: 8}
"""

# A linear target learned by one linear unit.
LINEAR_REGRESSION = """\
name: reg
data: {source: linear, n_samples: 200, n_features: 3}
model:
  layers:
    - {type: dense, units: 1}
compile: {loss: mean_squared_error, optimizer: {type: sgd, learning_rate: 0.05}}
fit: {epochs: 30}
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run each test in its own folder, so runs/ lands there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_config(workdir):
    """write_config(text, name) -> path of a YAML file in the test's folder."""

    def write(text: str = TINY, name: str = "config.yaml") -> Path:
        path = workdir / name
        path.write_text(textwrap.dedent(text))
        return path

    return write
