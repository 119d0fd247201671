"""Data-parallel training: 1 process, 2 workers on loopback and 2 mirrored CPU devices reach the same
numbers; user mistakes are clear; a dead worker stops the others, and the run resumes.

Multi-worker and mirrored runs go through the CLI in subprocesses: a strategy must be set up before
TensorFlow starts in a process, and every worker is a process of its own.

Tolerance: the replicas' gradients are summed after each replica summed its own share, where one device
sums the whole batch at once; float32 rounds the two orders differently in the last bits (about 1e-7 of
each step), which can grow over many steps. Measured over 20 epochs of iris, the losses agree to about
1e-7; the tests allow 1e-3 on losses and one test example on accuracy.
"""

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nnlearn.errors import NnlearnError
from nnlearn.runs.rundir import RunDir
from nnlearn.training.distribute import (
    Cluster,
    Launch,
    _wait_for_workers,
    cluster_from_option,
    free_ports,
    read_cluster,
)
from tests.conftest import CONFIGS, TINY, invoke, wait_for_checkpoint

IRIS = CONFIGS / "iris_softmax.yaml"  # batch_size 16: 8 rows per replica
LIMIT = 300  # seconds any one command may take before the test fails (never hangs)


@pytest.fixture
def no_strays(workdir):
    """After the test, end any process still running in its folder (a launcher's workers included)."""
    yield workdir
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if Path(os.readlink(entry / "cwd")) == workdir:
                    os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                continue


def nnlearn(*args, cwd):
    return subprocess.run([sys.executable, "-m", "nnlearn", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=LIMIT)


def trained(*args, cwd) -> dict:
    result = nnlearn("train", *args, "--no-plots", "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def losses(run_dir: Path) -> list[float]:
    with (run_dir / "history.csv").open() as stream:
        return [float(row["loss"]) for row in csv.DictReader(stream)]


def assert_same_numbers(one: dict, many: dict, run_dirs: tuple[Path, Path]) -> None:
    test_one, test_many = one["metrics"]["test"], many["metrics"]["test"]
    assert abs(test_one["accuracy"] - test_many["accuracy"]) <= 1 / 30 + 1e-9  # one of 30 test flowers
    assert test_many["loss"] == pytest.approx(test_one["loss"], rel=1e-3)
    curve_one, curve_many = losses(run_dirs[0]), losses(run_dirs[1])
    assert len(curve_one) == len(curve_many) == 20
    assert curve_many == pytest.approx(curve_one, rel=1e-3)
    assert curve_one[-1] < curve_one[0] / 3  # it learned: the comparison is not of two untrained models


@pytest.mark.tensorflow
@pytest.mark.slow
def test_two_workers_on_loopback_and_two_mirrored_devices_match_one_process(no_strays):
    one = trained(IRIS, "--set", "fit.epochs=20", "--out", "runs/one", cwd=no_strays)
    two = trained(IRIS, "--set", "fit.epochs=20", "--workers", "2", "--out", "runs/two", cwd=no_strays)
    assert_same_numbers(one, two, (no_strays / "runs/one", no_strays / "runs/two"))
    record = json.loads((no_strays / "runs/two/run.json").read_text())
    assert record["status"] == "finished"
    assert record["distribute"] == {"strategy": "multi_worker", "replicas": 2, "workers": 2, "batch_size": 16,
                                    "per_replica_batch_size": 8}
    assert "distribute" not in json.loads((no_strays / "runs/one/run.json").read_text())
    # only the chief wrote a run directory
    assert sorted(path.name for path in (no_strays / "runs").iterdir()) == ["one", "two"]

    mirrored = trained(IRIS, "--set", "fit.epochs=20", "--set", "fit.distribute=mirrored", "--set", "fit.devices=2",
                       "--out", "runs/mirrored", cwd=no_strays)
    assert_same_numbers(one, mirrored, (no_strays / "runs/one", no_strays / "runs/mirrored"))
    record = json.loads((no_strays / "runs/mirrored/run.json").read_text())
    assert record["distribute"]["strategy"] == "mirrored" and record["distribute"]["replicas"] == 2


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _worker(launcher: int, index: int) -> int:
    for child in _children(launcher):
        environment = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        config = next((item[len(b"TF_CONFIG="):] for item in environment if item.startswith(b"TF_CONFIG=")), b"")
        if json.loads(config or b"{}").get("task", {}).get("index") == index:
            return child
    raise AssertionError(f"worker {index} not found")


@pytest.mark.tensorflow
@pytest.mark.slow
def test_a_dead_worker_stops_the_others_and_the_run_resumes(no_strays):
    from nnlearn.runs.checkpoint import load_checkpoint

    run_dir = no_strays / "runs/killed"
    launcher = subprocess.Popen([sys.executable, "-m", "nnlearn", "train", str(IRIS), "--set", "fit.epochs=60",
                                 "--workers", "2", "--out", str(run_dir), "--no-plots"],
                                cwd=no_strays, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_checkpoint(run_dir, 2, launcher)
        os.kill(_worker(launcher.pid, 1), signal.SIGKILL)
        _, errors = launcher.communicate(timeout=90)  # the chief notices within seconds, never hangs
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode not in (0, None)
    errors = " ".join(errors.split())
    assert "worker 1 stopped" in errors and f"nnlearn train --resume {run_dir} --workers 2" in errors
    assert "Traceback" not in errors, errors[errors.index("Traceback") - 300:][:2500] if "Traceback" in errors else ""
    stopped_at = load_checkpoint(RunDir.open(run_dir))["epoch"]
    assert 2 <= stopped_at < 60 and not (run_dir / "model.keras").exists()

    resumed = trained("--resume", run_dir, "--workers", "2", cwd=no_strays)
    assert resumed["epochs"] == 60
    assert [int(row["epoch"]) for row in csv.DictReader((run_dir / "history.csv").open())] == list(range(1, 61))
    assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"


class Ended:
    """A worker process that has already ended with `returncode` (negative: killed by that signal)."""

    def __init__(self, returncode: int):
        self.returncode = returncode

    def poll(self):
        return self.returncode


def test_the_killed_worker_is_named_even_when_every_worker_ended_between_two_looks(tmp_path):
    from rich.console import Console

    (tmp_path / "worker-1.log").write_text("epoch 3\n")
    console = Console(record=True, width=200)
    # the chief noticed the dead peer (exit 1) before the launcher looked: both ended in one interval
    code = _wait_for_workers([Ended(1), Ended(-signal.SIGKILL)], tmp_path,
                             Launch([], [], 2, tmp_path / "missing-run"), console)
    said = console.export_text()
    assert code == 1
    assert "worker 1 stopped (killed by SIGKILL); the other workers stop too." in said
    assert "worker 1 said:\nepoch 3" in said and "worker 0 stopped" not in said


def test_tf_config_is_read_and_checked(monkeypatch):
    two = '{"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 1}}'
    assert read_cluster({"TF_CONFIG": two}) == Cluster(["127.0.0.1:1", "127.0.0.1:2"], "worker", 1,
                                                          "127.0.0.1:2")
    assert not read_cluster({"TF_CONFIG": two}).is_chief
    assert read_cluster({"TF_CONFIG": two.replace('"index": 1', '"index": 0')}).is_chief
    assert read_cluster({}) is None
    for text, said in (("{not json", "not JSON"), ('{"cluster": {}}', "needs a cluster"),
                       (two.replace('"index": 1', '"index": 5'), "not in its worker list")):
        with pytest.raises(NnlearnError, match=said) as error:
            read_cluster({"TF_CONFIG": text})
        assert error.value.path == "TF_CONFIG" and "TF_CONFIG=" in error.value.hint
    made = json.loads(cluster_from_option("10.0.0.1:2222, 10.0.0.2:2222", 1))
    assert made == {"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]}, "task": {"type": "worker", "index": 1}}
    with pytest.raises(NnlearnError, match="--task-index must be"):
        cluster_from_option("10.0.0.1:2222,10.0.0.2:2222", 2)
    with pytest.raises(NnlearnError, match="is not HOST:PORT"):
        cluster_from_option("10.0.0.1", 0)
    ports = free_ports(2)
    assert len(set(ports)) == 2 and all(port > 0 for port in ports)


def user_mistake(*args) -> str:
    result = invoke("train", *map(str, args))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_mistakes_are_named_with_their_fix(write_config, monkeypatch):
    path = write_config(TINY)  # batch_size 32
    monkeypatch.delenv("TF_CONFIG", raising=False)
    said = user_mistake(path, "--set", "fit.distribute=multi_worker")
    assert "fit.distribute" in said and "TF_CONFIG is not set" in said and "--workers 2" in said
    monkeypatch.setenv("TF_CONFIG", "{oops")
    said = user_mistake(path, "--set", "fit.distribute=multi_worker")
    assert "TF_CONFIG is not JSON" in said
    monkeypatch.delenv("TF_CONFIG")
    said = user_mistake(path, "--workers", "3")
    assert "fit.batch_size 32 does not divide among 3 workers" in said and "fit.batch_size=30 or 33" in said
    said = user_mistake(path, "--set", "fit.distribute=mirrored", "--set", "fit.devices=3")
    assert "fit" in said and "batch_size 32 does not divide among 3 devices" in said
    said = user_mistake(path, "--set", "fit.devices=2")
    assert "devices applies to distribute: mirrored only" in said
    said = user_mistake(path, "--workers", "2", "--set", "fit.distribute=mirrored")
    assert "--workers starts one process per worker" in said
    said = user_mistake(path, "--task-index", "1")
    assert "--task-index goes with --cluster" in said
    said = user_mistake(path, "--workers", "2", "--cluster", "127.0.0.1:1,127.0.0.1:2")
    assert "either --workers N, or --cluster" in said
    assert not Path("runs").exists()  # nothing was started


@pytest.mark.tensorflow
@pytest.mark.slow
def test_mirrored_ctrl_c_then_resume_equals_an_uninterrupted_run(no_strays):

    settings = ["--set", "fit.distribute=mirrored", "--set", "fit.devices=2", "--set", "fit.epochs=400"]
    whole = trained(IRIS, *settings, "--out", "runs/whole", cwd=no_strays)
    run_dir = no_strays / "runs/cut"
    process = subprocess.Popen([sys.executable, "-m", "nnlearn", "train", str(IRIS), *settings, "--out", str(run_dir),
                                "--no-plots"], cwd=no_strays, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_checkpoint(run_dir, 2, process)
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=240)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130 and "nnlearn train --resume" in " ".join(errors.split())
    resumed = trained("--resume", run_dir, cwd=no_strays)
    assert (run_dir / "history.csv").read_bytes() == (no_strays / "runs/whole/history.csv").read_bytes()
    assert resumed["metrics"] == whole["metrics"]
