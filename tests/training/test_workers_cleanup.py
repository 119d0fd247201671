"""Temporary files never outlive a command, however it ends: each command's own folder (TensorFlow's
autograph files go there too) is removed on the quick exit after Ctrl-C, where atexit handlers never run;
the workers of --workers N make theirs in a folder the launcher removes; and a worker's messages name the
chief's run folder, never its own temporary copy."""

import json
import os
import signal
import subprocess
import sys

import pytest

from nnlearn.config.schema import Config
from nnlearn.training import distribute
from tests.conftest import CONFIGS, ROOT, TINY, wait_for_checkpoint
from tests.training.test_distribute import no_strays  # noqa: F401 (a fixture)


def test_a_worker_names_the_chiefs_run_folder_never_its_own_copy(monkeypatch, tmp_path):
    import yaml

    config = Config.model_validate({**yaml.safe_load(TINY), "fit": {"distribute": "multi_worker"}})
    monkeypatch.setenv("TF_CONFIG", distribute.tf_config_for(["127.0.0.1:1", "127.0.0.1:2"], 1))
    monkeypatch.setattr(distribute, "_chief_run_dir", None)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    own = distribute.run_dir_of_this_worker(config, "runs/shared")
    assert own.parent.name.startswith("nnlearn-worker-") and own.parent.parent == tmp_path
    assert distribute.shown_run_dir(own) == distribute.Path("runs/shared")
    from nnlearn.files import remove_temporary_folders

    remove_temporary_folders()  # what every way out of the command line calls
    assert list(tmp_path.iterdir()) == []


def _left_in(folder) -> list[str]:
    return sorted(path.name for path in folder.rglob("*"))


def test_the_quick_exit_after_ctrl_c_leaves_no_temporary_files(tmp_path):
    """os._exit runs no atexit handler (TensorFlow removes its autograph files with one): the command's
    own temporary folder, where they are made, goes on that way out too."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    program = ("import tempfile\n"
               "from nnlearn.cli import process\n"
               "from nnlearn.files import temporary_folder\n"
               "tempfile.tempdir = str(temporary_folder('nnlearn-'))  # as the command line's main() does\n"
               "open(tempfile.mkstemp(prefix='__autograph_generated_file')[1], 'w').close()\n"
               "process.exit_interrupted(130)\n")
    done = subprocess.run([sys.executable, "-c", program], env={**os.environ, "PYTHONPATH": str(ROOT),
                                                                "TMPDIR": str(temporary)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 130, done.stderr
    assert _left_in(temporary) == []


@pytest.mark.tensorflow
@pytest.mark.slow
def test_ctrl_c_on_two_workers_leaves_no_temporary_files(no_strays):  # noqa: F811
    temporary = no_strays / "tmp"
    temporary.mkdir()
    run_dir = no_strays / "runs/stopped"
    launcher = subprocess.Popen([sys.executable, "-m", "nnlearn", "train", str(CONFIGS / "iris_softmax.yaml"),
                                 "--set", "fit.epochs=100000", "--workers", "2", "--out", str(run_dir), "--no-plots"],
                                cwd=no_strays, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "TMPDIR": str(temporary)})
    try:
        wait_for_checkpoint(run_dir, 1, launcher)
        assert any(path.name.startswith("nnlearn-worker-") for path in temporary.rglob("*"))  # in use now
        launcher.send_signal(signal.SIGINT)  # a terminal's Ctrl-C reaches the launcher, which passes it on
        _, errors = launcher.communicate(timeout=90)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 130 and "Traceback" not in errors, errors
    assert _left_in(temporary) == []  # no nnlearn-worker-*, no __autograph_generated_file*, no logs
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
