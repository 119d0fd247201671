import os
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from tests.configs import DIVERGES, LINEAR_REGRESSION, MOONS, TINY  # noqa: F401 (the tests import them from here)

# Wide output in tests: rich wraps at the terminal's width, and a long temporary path cut mid-word would
# hide the fragment a test looks for. Tests about narrow terminals set COLUMNS themselves.
os.environ["COLUMNS"] = "400"

_TENSORFLOW_BEFORE = pytest.StashKey[bool]()
ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"

# A model's float32 outputs for rows batched another way (one row, or two together) are summed in another order:
# they agree to about 1e-7 of their size, not bit for bit.
FLOAT32_REORDERED = {"rel": 1e-5, "abs": 1e-7}


def ctrl_c_as_a_terminal_leaves_it() -> None:
    """preexec_fn for a child that a test presses Ctrl-C at: a job started in the background with `&` starts
    with Ctrl-C ignored, and its children would inherit that (Python installs no handler for an ignored SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def approx_rows(rows: list[dict]) -> list[dict]:
    """rows (e.g. predict's JSON) with each float compared to FLOAT32_REORDERED, every other value exactly."""
    return [{key: pytest.approx(value, **FLOAT32_REORDERED) if isinstance(value, float) else value
             for key, value in row.items()} for row in rows]


WATCHDOG_SECONDS = 300  # a child still running then is stuck: killed, so the test fails instead of hanging


def wait_for_checkpoint(run_dir: Path, epoch: int, process) -> None:
    """Wait until run_dir's checkpoint holds epoch (or a later one) while process trains it; the process
    ending first fails the test with its output (a stuck one is killed by a watchdog, and ends first)."""
    from nnlearn.runs.checkpoint import load_checkpoint
    from nnlearn.runs.rundir import RunDir

    watchdog = threading.Timer(WATCHDOG_SECONDS, process.kill)
    watchdog.start()
    try:
        while not ((state := load_checkpoint(RunDir(run_dir))) and state["epoch"] >= epoch):
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
    finally:
        watchdog.cancel()


def flat(result) -> str:
    """A command's output with rich's line wrapping undone, for fragments that may be wrapped."""
    return " ".join(result.output.split())


def edited(text: str, *changes: tuple[str, str]) -> str:
    """text with each (old, new) replacement made; each old must occur exactly once, so an edit never
    silently does nothing when the template drifts."""
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in the template"
        text = text.replace(old, new)
    return text


def invoke(*arguments, **options):
    """One `nnlearn` command run in this process (typer's CliRunner): arguments as on the command line (paths
    may be Paths), on a wide terminal so rich never wraps a long temporary path mid-word."""
    from typer.testing import CliRunner

    from nnlearn.cli.app import app

    environment = {"COLUMNS": "400", **options.pop("env", {})}
    return CliRunner().invoke(app, [str(argument) for argument in arguments], env=environment, **options)


def _trained(factory, name: str, text: str, overrides: list[str]) -> Path:
    from nnlearn.training.train import train

    folder = factory.mktemp(name)
    (folder / f"{name}.yaml").write_text(text)
    return train(folder / f"{name}.yaml", overrides, out=folder / "run").run_dir


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """TINY (iris, 4 features, 3 classes) trained for 20 epochs, once per test process: for every test that
    only reads a finished run."""
    return _trained(tmp_path_factory, "tiny", TINY, ["fit.epochs=20"])


@pytest.fixture(scope="session")
def moons_run(tmp_path_factory) -> Path:
    """MOONS (2 features, binary) trained for 15 epochs, once per test process: for every test that only reads
    a finished run of two features (decision boundary, predict by column name)."""
    return _trained(tmp_path_factory, "moons", MOONS, ["fit.epochs=15"])


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
