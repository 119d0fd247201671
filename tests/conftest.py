import os
import sys
import textwrap
from pathlib import Path

import pytest

# Wide output in tests: rich wraps at the terminal's width, and a long temporary path cut mid-word would
# hide the fragment a test looks for. Tests about narrow terminals set COLUMNS themselves.
os.environ["COLUMNS"] = "400"

_TENSORFLOW_BEFORE = pytest.StashKey[bool]()
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

# Two moons with a ReLU layer and dropout; tests set fit.epochs with an override.
MOONS = """\
name: moons
data: {source: moons, n_samples: 400, noise: 0.2}
model:
  layers:
    - {type: dense, units: 16, activation: relu}
    - {type: dropout, rate: 0.2}
    - {type: dense, units: 1}
compile: {loss: binary_crossentropy, optimizer: {learning_rate: 0.01}}
fit: {epochs: 6, batch_size: 8}
"""

# A regression whose loss becomes NaN in its first epoch: raw (unscaled) diabetes features and plain
# gradient descent with a far too large learning rate.
DIVERGES = """\
name: diverges
data: {source: diabetes, normalize: none}
model:
  layers:
    - {type: dense, units: 8, activation: relu}
    - {type: dense, units: 1}
compile: {loss: mean_squared_error, optimizer: {type: sgd, learning_rate: 100}}
fit: {epochs: 5, batch_size: 32}
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


# A model's float32 outputs for rows batched another way (one row, or two together) are summed in another order:
# they agree to about 1e-7 of their size, not bit for bit.
FLOAT32_REORDERED = {"rel": 1e-5, "abs": 1e-7}


def approx_rows(rows: list[dict]) -> list[dict]:
    """rows (e.g. predict's JSON) with each float compared to FLOAT32_REORDERED, every other value exactly."""
    return [{key: pytest.approx(value, **FLOAT32_REORDERED) if isinstance(value, float) else value
             for key, value in row.items()} for row in rows]


def edited(text: str, *changes: tuple[str, str]) -> str:
    """text with each (old, new) replacement made; each old must occur exactly once, so an edit never
    silently does nothing when the template drifts."""
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the template"
        text = text.replace(old, new)
    return text


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    item.stash[_TENSORFLOW_BEFORE] = "tensorflow" in sys.modules
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A test that imports TensorFlow (itself or through a fixture) must say so with
    @pytest.mark.tensorflow, so that `pytest -m "not tensorflow"` stays fast and honest."""
    result = yield
    imported = not item.stash.get(_TENSORFLOW_BEFORE, True) and "tensorflow" in sys.modules
    if imported and item.get_closest_marker("tensorflow") is None:
        pytest.fail(f"{item.nodeid} imported TensorFlow but is not marked @pytest.mark.tensorflow",
                    pytrace=False)
    return result
