"""Output streams a command cannot count on: closed by the shell (`>&-`, `2>&-`), gone mid-way (a full
disk), or a terminal that cannot encode every character (PYTHONIOENCODING=ascii, a latin-1 console).
Every command carries on with the right exit code and no traceback; a run says what really happened."""

import errno
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from nnlearn.cli.display import loss_line, make_console, sparkline
from nnlearn.cli.process import OutputWhoseReaderMayLeave, plain_text
from tests.conftest import ROOT, TINY


@pytest.mark.parametrize("text, encoding, expected", [
    ("Training → runs/x", "ascii", "Training -> runs/x"),
    ("loss 1.2 → 0.3 ± 0.1, 3 × 4 ≥ 2 … — −5", "ascii", "loss 1.2 -> 0.3 +/- 0.1, 3 x 4 >= 2 ... - -5"),
    ("café a₁ ŷ", "ascii", "cafe a1 y^"),
    ("café → done", "latin-1", "café -> done"),  # latin-1 keeps é, the arrow becomes plain
    ("日本", "ascii", "??"),
    ("plain already", "ascii", "plain already"),
])
def test_characters_a_terminal_cannot_show_become_plain_ones(text, encoding, expected):
    assert plain_text(text, encoding) == expected


def test_the_sparkline_and_the_loss_line_are_readable_in_ascii():
    line = plain_text(sparkline([7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0]), "ascii")
    assert line == "#*+=-:._"  # highest to lowest, each block a different plain character
    console = make_console()
    text = plain_text(loss_line(console, [{"loss": 2.0}, {"loss": 1.0}, {"loss": 0.5}]), "ascii")
    assert text.isascii() and "2.0000 -> 0.5000" in text


def _stream(encoding: str) -> tuple[io.BytesIO, io.TextIOWrapper]:
    raw = io.BytesIO()
    return raw, io.TextIOWrapper(raw, encoding=encoding, write_through=True)


def test_a_narrow_stream_gets_plain_text_and_never_an_encode_error():
    raw, stream = _stream("latin-1")
    output = OutputWhoseReaderMayLeave(stream)
    output.write("Training → é ▁▂█\n")
    assert raw.getvalue().decode("latin-1") == "Training -> é _.#\n"


def test_a_utf8_stream_is_written_unchanged():
    raw, stream = _stream("utf-8")
    OutputWhoseReaderMayLeave(stream).write("→ ▁█\n")
    assert raw.getvalue().decode("utf-8") == "→ ▁█\n"


class _FullDisk(io.StringIO):
    def write(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    def fileno(self):
        raise io.UnsupportedOperation("no descriptor")


def test_a_stream_on_a_full_disk_goes_quiet():
    output = OutputWhoseReaderMayLeave(_FullDisk())
    assert output.write("epoch 1\n") == len("epoch 1\n")
    output.flush()
    assert output.write("epoch 2\n") == len("epoch 2\n")  # quiet from now on, the command carries on


# ---------------------------------------------------------------- real processes


def _stopped_run(folder):
    """A run stopped after its first epoch, made without TensorFlow (see test_hardening's stopped_run)."""
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.runs.checkpoint import save_checkpoint
    from nnlearn.runs.rundir import RunDir
    from nnlearn.training.train import start_run_dir

    config = folder / "config.yaml"
    config.write_text(TINY)
    run_dir = start_run_dir(prepare(load_config(config), folder), folder / "runs" / "stopped").path
    save_checkpoint(RunDir.open(run_dir), {"model_0": np.zeros((4, 8), np.float32)}, [{"loss": 1.0}])
    record = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**record, "status": "interrupted", "epochs": 1}))
    return run_dir


def _nnlearn(folder, *args, closed: int | None = None, encoding: str = "utf-8") -> subprocess.CompletedProcess:
    """nnlearn in a process of its own, with descriptor `closed` shut as `>&-` or `2>&-` does it."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": encoding, "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "nnlearn", *map(str, args)], cwd=folder, env=environment,
                          capture_output=True, timeout=300,
                          preexec_fn=(lambda: os.close(closed)) if closed is not None else None)


COMMANDS = {  # arguments, exit code
    "validate": (["config.yaml"], 0),
    "explain": (["config.yaml"], 0),
    "diagnose": (["runs/stopped"], 0),
    "help": (["train", "--help"], 0),
    "an error": (["validate", "missing.yaml"], 2),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("streams")
    _stopped_run(folder)
    return folder


@pytest.mark.parametrize("name", ["explain", "diagnose", "an error"])  # the others print the same way
@pytest.mark.parametrize("closed", [1, 2])
def test_every_command_survives_a_closed_stream(folder, name, closed):
    arguments, code = COMMANDS[name]
    if name in ("validate", "explain", "diagnose"):
        arguments = [name, *arguments]
    done = _nnlearn(folder, *arguments, closed=closed)
    other = done.stderr if closed == 1 else done.stdout
    assert done.returncode == code, other
    assert b"Traceback" not in done.stdout + done.stderr


@pytest.mark.parametrize("name", ["validate", "explain", "diagnose", "help", "an error"])  # as the rest print
def test_every_command_speaks_plainly_to_an_ascii_terminal(folder, name):
    arguments, code = COMMANDS[name]
    if name in ("validate", "explain", "diagnose"):
        arguments = [name, *arguments]
    done = _nnlearn(folder, *arguments, encoding="ascii")
    assert done.returncode == code, done.stderr
    assert b"Traceback" not in done.stdout + done.stderr
    assert (done.stdout + done.stderr).isascii()
    assert done.stdout or done.stderr  # something was said, plainly


@pytest.mark.tensorflow
def test_a_run_trained_with_stdout_closed_is_finished_and_says_so_plainly(folder):
    done = _nnlearn(folder, "train", "config.yaml", "--out", "runs/closed", "--no-plots", "--json", closed=1,
                    encoding="ascii")
    assert done.returncode == 0, done.stderr
    assert b"Training tiny -> runs/closed" in done.stderr and done.stderr.isascii()
    assert json.loads((folder / "runs/closed/run.json").read_text())["status"] == "finished"
    evaluated = _nnlearn(folder, "eval", "runs/closed", closed=2, encoding="latin-1")
    assert evaluated.returncode == 0 and b"Test metrics of runs/closed" in evaluated.stdout
    assert b"Traceback" not in evaluated.stdout
