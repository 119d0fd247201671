"""nnlearn watch: a saved file is retrained as a new run, an invalid edit is reported and watching goes
on, and Ctrl-C while waiting ends it cleanly."""

import json
import signal
import subprocess
import sys
import threading
import time

import pytest

from nnlearn.errors import ConfigError
from nnlearn.runs.catalog import list_runs
from nnlearn.runs.rundir import RunDir
from nnlearn.workflows.watch import config_changes
from tests.conftest import MOONS, ctrl_c_as_a_terminal_leaves_it, edited, invoke


def test_config_changes_name_each_changed_value():
    before = {"model": {"layers": [{"units": 25}, {"units": 10}]}, "fit": {"epochs": 3}}
    after = {"model": {"layers": [{"units": 5}, {"units": 10}]}, "fit": {"epochs": 3}}
    assert config_changes(before, after) == [("model.layers[0].units", 25, 5)]
    assert config_changes(before, before) == []


def test_the_first_runs_table_counts_from_the_start_and_the_loss_line_fits_80_columns():
    from io import StringIO
    from types import SimpleNamespace

    from rich.console import Console

    from nnlearn.cli.display import loss_line, watch_table
    from nnlearn.workflows.watch import Retrained

    console = Console(file=StringIO(), width=80, color_system=None)
    run = SimpleNamespace(metrics={"test": {"loss": 0.1}})
    console.print(watch_table(Retrained(run, 1.5, after_save=False)))
    console.print(watch_table(Retrained(run, 0.5, previous=run)))
    text = console.file.getvalue()
    assert "1.5 s after watching started" in text and "0.5 s after the save" in text
    line = loss_line(console, [{"loss": 1 / (epoch + 1)} for epoch in range(300)])
    assert len(line) < 80 and line.startswith("loss per epoch ") and line.endswith("1.0000 → 0.0033")


@pytest.mark.tensorflow
def test_a_save_retrains_and_an_invalid_edit_is_reported(write_config):
    from nnlearn.workflows.watch import watch

    path = write_config(MOONS)
    runs, errors = [], []
    changed = threading.Condition()

    def recorded(into: list):
        def add(item) -> None:
            with changed:
                into.append(item)
                changed.notify_all()
        return add

    def wait_for(condition) -> None:
        """Until condition holds, or the watcher has stopped (the assertions after it then say what is missing)."""
        with changed:
            while not condition() and watcher.is_alive():
                changed.wait(0.5)  # woken by each run or error; the half second notices a watcher that died

    events = []  # what a person would see, in order: the changes must come before their run trains

    class Progress:
        def __getattr__(self, name):
            return lambda *arguments, **options: None

        def start(self, *arguments):
            events.append("training starts")

    watcher = threading.Thread(target=watch, args=(path, ["fit.epochs=2"]), daemon=True,
                               kwargs={"on_run": recorded(runs), "on_error": recorded(errors), "max_runs": 2,
                                       "poll_seconds": 0.05, "progress": Progress(),
                                       "on_changes": lambda changes: events.append(changes)})
    watcher.start()
    wait_for(lambda: len(runs) == 1)
    path.write_text("model: [\n")
    wait_for(lambda: len(errors) == 1)
    assert len(runs) == 1
    path.write_text(edited(MOONS, ("units: 16", "units: 4")))
    wait_for(lambda: len(runs) == 2)
    watcher.join()  # max_runs=2: it has stopped by itself (a daemon thread: a failure above never waits on it)
    assert isinstance(errors[0], ConfigError)
    first, second = runs
    assert first.previous is None and first.changes == [] and not first.after_save and second.after_save
    assert events == ["training starts", [("model.layers[0].units", 16, 4)], "training starts"]
    assert second.previous is first.run and second.changes == [("model.layers[0].units", 16, 4)]
    test_before, test_after = first.run.metrics["test"], second.run.metrics["test"]
    assert second.deltas() == {name: test_after[name] - test_before[name] for name in test_after}
    listed = {run.run_dir.name for run in list_runs(path.parent / "runs") if run.status == "finished"}
    assert listed == {first.run.run_dir.name, second.run.run_dir.name}


@pytest.mark.tensorflow
@pytest.mark.slow
def test_cli_prints_one_json_line_per_run_and_ctrl_c_while_waiting_exits_0(write_config, workdir):
    path = write_config(MOONS)
    # a test run started in the background inherits an ignored SIGINT: give the watcher a normal one
    process = subprocess.Popen([sys.executable, "-m", "nnlearn", "watch", str(path), "--set", "fit.epochs=2",
                                "--json"], cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=ctrl_c_as_a_terminal_leaves_it)
    watchdog = threading.Timer(300, process.kill)  # a watcher that never answers fails the test, never hangs it
    watchdog.start()
    try:
        first = json.loads(process.stdout.readline())
        path.write_text(edited(MOONS, ("learning_rate: 0.01", "learning_rate: 0.05")))
        second = json.loads(process.stdout.readline())
        time.sleep(2)  # back to waiting for the next save (a busy machine takes a while to get there)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=240)  # generous: a busy machine is slow, never stuck
    finally:
        watchdog.cancel()
        process.kill()
    assert process.returncode == 0, stderr
    assert first["previous_run_dir"] is None and first["changes"] == []
    assert second["previous_run_dir"] == first["run_dir"]
    assert second["changes"] == [{"key": "compile.optimizer.learning_rate", "before": 0.01, "after": 0.05}]
    assert set(second["deltas"]["test"]) == set(second["metrics"]["test"])
    assert {"seconds", "training_seconds"} <= set(second)  # their values: benchmarks/whole_process.py
    assert (workdir / second["run_dir"] / "metrics.json").is_file()
    # the verdict train and diagnose give the same run
    from nnlearn.insight.diagnose import diagnose_run

    [said], [diagnosed] = second["diagnosis"], diagnose_run(RunDir.open(workdir / second["run_dir"]))
    assert (said["kind"], said["title"], said["evidence"]) == (diagnosed.kind, diagnosed.title, diagnosed.evidence)


@pytest.mark.tensorflow
def test_cli_shows_the_configs_warnings_before_each_run(write_config):


    path = write_config(edited(MOONS, ("learning_rate: 0.01", "learning_rate: 50")))
    result = invoke("watch", path, "--set", "fit.epochs=1", "--max-runs", "1")
    assert result.exit_code == 0, result.output
    warning = result.output.index("Adam with learning_rate 50 is above the usual")
    assert warning < result.output.index("Training moons →")
    quiet = invoke("watch", path, "--set", "fit.epochs=1", "--max-runs", "1", "--quiet")
    assert quiet.exit_code == 0 and "Adam with learning_rate 50 is above the usual" not in quiet.output
