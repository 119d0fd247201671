"""No Keras or TensorFlow warning or log line reaches the learner: the shipped configs and the usual
mistakes, run as a learner runs them (a real process, its real stderr)."""

import re
import subprocess
import sys

import pytest

from tests.conftest import MOONS

# what a library's own line looks like: a Python warning with its file, an absl/glog line, a TensorFlow path
LIBRARY_LINE = re.compile(r"site-packages|Warning:|WARNING|absl|tensorflow/|keras/src|^[IWEF]\d{4} ", re.M)


def nnlearn(*arguments, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnlearn", *arguments], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def assert_quiet(result: subprocess.CompletedProcess) -> None:
    assert not LIBRARY_LINE.search(result.stderr), result.stderr[-3000:]
    assert not LIBRARY_LINE.search(result.stdout), result.stdout[-3000:]


@pytest.mark.tensorflow
@pytest.mark.slow
def test_the_usual_mistakes_show_no_library_lines(workdir):
    # the shipped configs: tests/workflows/test_smoke.py (the smoke of every one, in a process of its own)
    (workdir / "moons.yaml").write_text(MOONS)
    # sigmoid and softmax outputs, with and without from_logits: what a learner tries first. The
    # contradictory ones (Keras would warn about them) are refused before TensorFlow starts
    for activation in ("sigmoid", "softmax"):
        refused = nnlearn("train", "moons.yaml", "--set", f"model.layers[2].activation={activation}", cwd=workdir)
        assert refused.returncode == 2 and "model.layers[2].activation" in refused.stderr + refused.stdout
        assert_quiet(refused)
    sweep = nnlearn("sweep", "moons.yaml", "--set", "fit.epochs=2", "--out", "sweep", "--grid",
                    "model.layers[2].activation=sigmoid,linear", "--set", "compile.from_logits=false", cwd=workdir)
    assert sweep.returncode == 0, sweep.stdout + sweep.stderr
    assert_quiet(sweep)
    run = next(path for path in (workdir / "sweep").iterdir() if (path / "model.keras").is_file())
    (workdir / "new.csv").write_text("x1,x2\n0.5,0.2\n")
    for command in (["eval", str(run)], ["predict", str(run), "--input", "new.csv"]):
        result = nnlearn(*command, cwd=workdir)
        assert result.returncode == 0, result.stderr
        assert_quiet(result)
