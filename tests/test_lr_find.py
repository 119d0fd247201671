"""`nnlearn lr-find`: an exponential learning-rate ramp on a fresh model, and a suggestion that trains."""

import csv
import json
import math

import pytest
from typer.testing import CliRunner

from nnlearn.cli.app import app
from nnlearn.workflows.lr_find import rate_at, smooth
from tests.conftest import CONFIGS, TINY

runner = CliRunner()


def find(*args) -> dict:
    result = runner.invoke(app, ["lr-find", *[str(arg) for arg in args], "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_ramp_and_the_smoothing_by_hand():
    assert rate_at(0) == pytest.approx(1e-6) and rate_at(99) == pytest.approx(10.0)
    assert rate_at(50) / rate_at(49) == pytest.approx(rate_at(1) / rate_at(0))  # a constant factor per step
    assert rate_at(1) / rate_at(0) == pytest.approx(1e7 ** (1 / 99))
    # bias-corrected average, β = 0.5: (0.5·4) / (1 − 0.5) = 4, then (0.25·4 + 0.5·2) / (1 − 0.25) = 8/3
    assert smooth([4.0, 2.0], beta=0.5) == pytest.approx([4.0, 8 / 3])


@pytest.mark.tensorflow
@pytest.mark.slow
def test_the_suggestion_trains_a_shipped_config_to_its_floor(workdir):
    from nnlearn.training.train import train

    found = find(CONFIGS / "iris_softmax.yaml")
    rates, losses = found["learning_rates"], found["losses"]
    assert rates[0] == pytest.approx(1e-6)
    assert all(later / earlier == pytest.approx(rates[1] / rates[0]) for earlier, later in zip(rates, rates[1:]))
    assert found["smoothed_losses"] == pytest.approx(smooth(losses))
    # stopped where the loss blew up: past the lowest point, the smoothed loss is 4× higher
    assert found["stopped"] == "blew up" and found["steps"] < 100
    assert found["smoothed_losses"][-1] > 4 * min(found["smoothed_losses"])
    lowest = rates[found["smoothed_losses"].index(min(found["smoothed_losses"]))]
    assert found["suggested_learning_rate"] == pytest.approx(lowest / 10, rel=0.05)
    assert found["set"] == f"compile.optimizer.learning_rate={found['suggested_learning_rate']:g}"
    # the loss at the smallest rates is an untrained model's, about ln 3 for iris's 3 classes
    assert found["smoothed_losses"][0] == pytest.approx(math.log(3), abs=0.5)
    folder = workdir / found["folder"]
    assert (folder / "lr_find.png").stat().st_size > 0 and not (folder / "model.keras").exists()
    with (folder / "lr_find.csv").open() as handle:
        assert [float(row["loss"]) for row in csv.DictReader(handle)] == losses

    run = train(CONFIGS / "iris_softmax.yaml", [found["set"]], out=workdir / "suggested")
    assert run.metrics["test"]["accuracy"] >= 0.93  # the config's floor in test_shipped_configs


@pytest.mark.tensorflow
def test_each_search_starts_from_a_fresh_model(write_config):
    first, second = find(write_config(TINY)), find(write_config(TINY))
    assert first["losses"] == second["losses"]  # same seed, fresh weights: the same numbers again
    assert first["folder"] != second["folder"]


def test_a_config_mistake_exits_2(write_config):
    result = runner.invoke(app, ["lr-find", str(write_config(TINY)), "--set", "fit.batch_size=0", "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["problems"][0]["path"] == "fit.batch_size"


@pytest.mark.tensorflow
def test_the_suggested_command_is_printed_whole_on_its_own_line(write_config):
    path = write_config(TINY)
    result = runner.invoke(app, ["lr-find", str(path)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    command = lines[lines.index("Use it:") + 1]
    assert command.startswith(f"  nnlearn train {path} --set compile.optimizer.learning_rate=")
