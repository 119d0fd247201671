"""One writer at a time per run folder: an operating-system lock taken before anything else by every
command that writes a run (train --resume, plot, report, sweep --resume) and by every write RunDir makes.
A second writer is refused at once, naming the process; readers never wait."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from nnlearn.runs import lock
from nnlearn.runs.rundir import RunDir
from tests.configs import TINY
from tests.conftest import ROOT, flat, invoke


HOLDER = """
import sys, time
from nnlearn.runs.lock import take
take(sys.argv[1])
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def stopped_run(write_config):
    """A run stopped after its first epoch, made without TensorFlow."""
    from nnlearn.config.loading import load_config
    from nnlearn.model.prepare import prepare
    from nnlearn.runs.checkpoint import save_checkpoint
    from nnlearn.training.train import start_run_dir

    path = write_config(TINY)
    with lock.held():  # as a command does: the new run's lock is let go when it ends
        run_dir = start_run_dir(prepare(load_config(path), path.parent), "runs/stopped").path
        save_checkpoint(RunDir.open(run_dir), {"model_0": np.zeros((4, 8), np.float32)}, [{"loss": 1.0}])
    record = json.loads((run_dir / "run.json").read_text())
    (run_dir / "run.json").write_text(json.dumps({**record, "status": "interrupted", "epochs": 1}))
    return run_dir


@pytest.fixture
def held_by_another_process():
    """hold(folder): another process takes folder's lock (nnlearn's own code) and keeps it; its pid."""
    processes = []

    def hold(folder) -> int:
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE,
                                   env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True)
        processes.append(process)
        assert process.stdout.readline().strip() == "held"
        return process.pid

    yield hold
    for process in processes:
        process.kill()
        process.wait()


@pytest.mark.parametrize("command", [["train", "--resume"], ["plot"], ["report"]])
def test_a_second_writer_is_refused_naming_the_process(stopped_run, held_by_another_process, command):
    pid = held_by_another_process(stopped_run)
    before = (stopped_run / "run.json").read_bytes()
    result = invoke(*command, stopped_run)  # a command that waited for the lock would end 0 when the holder dies
    assert result.exit_code == 2, result.output
    assert f"is being written by process {pid}" in flat(result) and f"kill {pid}" in flat(result)
    assert (stopped_run / "run.json").read_bytes() == before  # nothing of the run was touched


GAP_HOLDER = """
import fcntl, os, sys, time
descriptor = os.open(os.path.join(sys.argv[1], ".lock"), os.O_RDWR | os.O_CREAT)
fcntl.flock(descriptor, fcntl.LOCK_EX)
os.ftruncate(descriptor, 0)
print("held", flush=True)
time.sleep(0.05)  # the moment between taking the lock and writing who holds it
os.write(descriptor, f"{os.getpid()}\\nnnlearn plot\\n".encode())
time.sleep(120)
"""


def test_a_writer_refused_in_the_moment_before_the_holder_names_itself_still_names_it(stopped_run):
    from nnlearn.errors import RunError

    holder = subprocess.Popen([sys.executable, "-c", GAP_HOLDER, str(stopped_run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with lock.held(), pytest.raises(RunError, match=f"being written by process {holder.pid} \\(nnlearn plot\\)"):
            RunDir(stopped_run).take()
    finally:
        holder.kill()
        holder.wait()


def test_readers_never_wait_for_a_writer(stopped_run, held_by_another_process):
    held_by_another_process(stopped_run)
    for command in (["runs", stopped_run.parent], ["diagnose", stopped_run],
                    ["compare", stopped_run, stopped_run]):
        result = invoke(*command)
        assert result.exit_code == 0, (command, result.output)


def test_a_lock_is_let_go_when_its_process_dies_however_it_dies(stopped_run, held_by_another_process):
    pid = held_by_another_process(stopped_run)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    with lock.held():
        RunDir(stopped_run).take()  # no stale lock after a SIGKILL
        assert lock.holds(stopped_run)
    assert not lock.holds(stopped_run)


def test_a_command_lets_go_of_the_runs_it_locked(stopped_run):
    result = invoke("plot", stopped_run)  # nothing to plot yet: refused after taking the lock
    assert result.exit_code == 2 and "nothing to plot" in flat(result)
    assert not lock.holds(stopped_run)


def test_a_new_run_folder_appears_already_locked(workdir, monkeypatch):
    """The lock is taken in the hidden folder the run is filled in: at the moment its name appears, another
    writer (a `plot` typed at once) is already refused."""
    import fcntl

    from nnlearn.runs import rundir

    rename, seen = os.rename, []

    def rename_and_try_the_lock(source, target):
        rename(source, target)
        descriptor = os.open(os.path.join(target, lock.LOCK_FILE), os.O_RDWR)
        try:  # another open file of the same lock file: refused while the run's own is held
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            seen.append("free")
        except BlockingIOError:
            seen.append("held")
        finally:
            os.close(descriptor)

    monkeypatch.setattr(rundir.os, "rename", rename_and_try_the_lock)
    with lock.held():
        run = RunDir.start("new", "runs/new", "name: new\n", {}, {"status": "starting"})
        assert seen == ["held"] and lock.holds(run.path) and not list(run.path.parent.glob(".new.starting-*"))
    assert not lock.holds(run.path)


def test_every_write_of_a_run_takes_its_lock(stopped_run, held_by_another_process):
    held_by_another_process(stopped_run)
    run = RunDir(stopped_run)
    from nnlearn.errors import RunError

    for write in (lambda: run.write_record({}), lambda: run.write_history([]), lambda: run.write_plot("a", b""),
                  lambda: run.write_page("a.html", ""), lambda: run.write_checkpoint(b""),
                  lambda: run.write_metrics({})):
        with pytest.raises(RunError, match="is being written by process"):
            write()


def test_a_sweep_being_continued_is_refused_to_a_second_process(write_config, held_by_another_process):
    from nnlearn.workflows.sweep import start_sweep

    with lock.held():
        sweep, _ = start_sweep(write_config(TINY), [], ["fit.epochs=1,2"], 1, out="sweep")
    pid = held_by_another_process(sweep.sweep_dir)
    result = invoke("sweep", "--resume", sweep.sweep_dir)
    assert result.exit_code == 2 and f"process {pid}" in flat(result), result.output
