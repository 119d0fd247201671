"""A sweep's size is counted before anything is planned or trained, values are compared as the config
reads them, and its picture never compares two combinations to order them."""

import json

import pytest

from nnlearn.pictures import sweep_plots
from nnlearn.runs.sweep_folder import Axis, Group, Sweep
from tests.conftest import flat, invoke
from tests.configs import TINY


@pytest.mark.parametrize("values, shown", [("0.1,1e-1", "0.1 and 1e-1 are the same value (0.1)"),
                                           ("0.01,0.010", "0.01 and 0.010 are the same value (0.01)")])
def test_two_values_the_config_reads_alike_are_refused(write_config, workdir, values, shown):
    result = invoke("sweep", write_config(TINY), "--grid", f"compile.optimizer.learning_rate={values}")
    assert result.exit_code == 2 and shown in flat(result), result.output
    assert not (workdir / "runs").exists()  # refused before any folder is made


@pytest.mark.parametrize("arguments, fragment", [
    (["--seeds", "100000000"], "--seeds must be 1 to 100 (received 100,000,000)"),
    (["--seeds", "0"], "--seeds must be 1 to 100 (received 0)"),
    (["--grid", "model.layers[0].units=" + ",".join(str(n) for n in range(1, 101)), "--seeds", "100"],
     "this sweep would train 20,000 runs (2 values of learning_rate x 100 values of units x 100 seeds); a sweep "
     "trains at most 10,000"),
])
def test_a_sweep_too_big_is_refused_before_anything_is_planned(write_config, workdir, arguments, fragment):
    result = invoke("sweep", write_config(TINY), "--grid", "compile.optimizer.learning_rate=0.01,0.1", *arguments)
    assert result.exit_code == 2, result.output
    assert fragment in flat(result)
    assert not (workdir / "runs").exists()


def test_a_sweep_of_over_100_runs_says_how_many_and_starts_only_with_yes(write_config, workdir, monkeypatch):
    grid = ["--grid", "model.layers[0].units=" + ",".join(str(n) for n in range(1, 26)),
            "--grid", "compile.optimizer.learning_rate=0.001,0.01,0.1,0.5", "--set", "fit.epochs=1"]
    asked = invoke("sweep", write_config(TINY), *grid, "--seeds", "2")
    assert asked.exit_code == 2 and "this sweep would train 200 runs (25 values of units x 4 values of " \
                                    "learning_rate x 2 seeds)" in flat(asked) and "add --yes" in flat(asked)
    import nnlearn.workflows.sweep as sweep

    started = []
    monkeypatch.setattr(sweep, "run_sweep", lambda result, config_dir, on_run: started.append(result) or result)
    confirmed = invoke("sweep", write_config(TINY), *grid, "--seeds", "2", "--yes", "--no-plots", "--out", "big")
    assert len(started) == 1 and len(started[0].members) == 200, confirmed.output
    assert len(json.loads((workdir / "big" / "sweep.json").read_text())["runs"]) == 200


def test_the_metric_picture_orders_by_value_alone(tmp_path, monkeypatch):
    """An old sweep folder may hold 0.1 and 1e-1 (made before they were refused): its picture still draws."""
    groups = [Group({"lr": value}, [], mean, 0.0, mean, mean) for value, mean in (("0.1", 0.9), ("1e-1", 0.8))]
    sweep = Sweep(tmp_path, [Axis("lr", ["0.1", "1e-1"])], [0], [], "accuracy", True)
    monkeypatch.setattr(Sweep, "best", lambda self: groups[0])
    written = sweep_plots._metric_plot(sweep_plots.pyplot(), sweep, sweep.axes[0], groups)
    assert written.is_file()
