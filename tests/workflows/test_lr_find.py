"""`nnlearn lr-find`: an exponential learning-rate ramp on a fresh model, and a suggestion that trains."""

import csv
import json
import math

import pytest

from nnlearn.config.loading import load_config
from nnlearn.workflows.lr_find import RangeTest, rate_at, smooth
from tests.conftest import CONFIGS, TINY, invoke


def find(*args) -> dict:
    result = invoke("lr-find", *[str(arg) for arg in args], "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_ramp_and_the_smoothing_by_hand():
    assert rate_at(0) == pytest.approx(1e-6) and rate_at(99) == pytest.approx(10.0)
    assert rate_at(50) / rate_at(49) == pytest.approx(rate_at(1) / rate_at(0))  # a constant factor per step
    assert rate_at(1) / rate_at(0) == pytest.approx(1e7 ** (1 / 99))
    # bias-corrected average, β = 0.5: (0.5·4) / (1 − 0.5) = 4, then (0.25·4 + 0.5·2) / (1 − 0.25) = 8/3
    assert smooth([4.0, 2.0], beta=0.5) == pytest.approx([4.0, 8 / 3])


def curve(losses: list[float], accepted=(1e-5, 0.1)) -> RangeTest:
    """A range test whose smoothed losses are the given ones, one per step of the usual ramp."""
    return RangeTest("by-hand", [rate_at(step) for step in range(len(losses))], list(losses), list(losses),
                     "blew up", accepted)


def test_the_rules_by_hand():
    # 100 steps: flat at 2 until step 40, falling by 0.02 a step to step 79 (by 0.1 from step 65 to 66),
    # then rising (the blow-up)
    falling = [2.0 - 0.02 * k - (0.08 if k > 26 else 0.0) for k in range(1, 41)]
    losses = [2.0] * 40 + falling + [falling[-1] + 0.1 * k for k in range(1, 21)]
    found = curve(losses)
    # fast.ai reads steps 10 to 94. The longest falling run is one 2.0 then steps 40 to 79 (41 steps, to 1.2);
    # fast.ai starts it at its end less its length, 79 - 41 = 38, and takes 38 + int(41/3) + int(41/6) = 57
    assert found.valley() == (pytest.approx(rate_at(38)), pytest.approx(rate_at(79)), pytest.approx(rate_at(57)))
    assert found.minimum_rate == pytest.approx(rate_at(79))  # the lowest loss, 1.12
    assert found.steepest_rate == pytest.approx(rate_at(65))  # the step from 65 to 66 falls 5 times as far
    assert found.suggested_rate == float(f"{rate_at(57):.2g}")
    assert found.rate_by("minimum") == float(f"{rate_at(79) / 10:.2g}")


def test_a_suggestion_outside_the_range_lint_accepts_is_brought_to_its_edge():
    losses = [2.0] * 85 + [2.0 - 0.05 * k for k in range(1, 16)]  # falls only at the largest rates
    found = curve(losses)
    assert found.valley_rate > 0.1 and found.moved_into_range
    assert found.suggested_rate == 0.1
    assert curve(losses, accepted=(1e-3, 10.0)).suggested_rate == float(f"{found.valley_rate:.2g}")


@pytest.mark.tensorflow
def test_the_curve_its_files_and_the_suggestion(workdir):
    found = find(CONFIGS / "iris_softmax.yaml")
    rates, losses = found["learning_rates"], found["losses"]
    assert rates[0] == pytest.approx(1e-6)
    assert all(later / earlier == pytest.approx(rates[1] / rates[0]) for earlier, later in zip(rates, rates[1:]))
    assert found["smoothed_losses"] == pytest.approx(smooth(losses))
    # stopped where the loss blew up: past the lowest point, the smoothed loss is 4× higher
    assert found["stopped"] == "blew up" and found["steps"] < 100
    assert found["smoothed_losses"][-1] > 4 * min(found["smoothed_losses"])
    assert found["rule"] == "valley" and found["accepted_learning_rates"] == [1e-5, 0.1]
    assert found["suggested_learning_rate"] == float(f"{found['valley_learning_rate']:.2g}")
    assert found["set"] == f"compile.optimizer.learning_rate={found['suggested_learning_rate']:g}"
    # the loss at the smallest rates is an untrained model's, about ln 3 for iris's 3 classes
    assert found["smoothed_losses"][0] == pytest.approx(math.log(3), abs=0.5)
    folder = workdir / found["folder"]
    assert (folder / "lr_find.png").stat().st_size > 0 and not (folder / "model.keras").exists()
    with (folder / "lr_find.csv").open() as handle:
        assert [float(row["loss"]) for row in csv.DictReader(handle)] == losses


def test_the_plot_names_each_rate_a_learning_rate(tmp_path, monkeypatch):
    from nnlearn.pictures import figures
    from nnlearn.workflows import lr_find

    losses = [2.0] * 40 + [2.0 - 0.02 * k for k in range(1, 41)] + [1.2 + 0.1 * k for k in range(1, 21)]
    found = curve(losses)
    labels = []

    def keep(figure, path):
        labels.extend(text.get_text() for text in figure.axes[0].get_legend().get_texts())
        figures.pyplot().close(figure)

    monkeypatch.setattr(lr_find, "save_figure", keep)
    lr_find._plot(found, tmp_path / "lr_find.png")
    rated = [label for label in labels if any(character.isdigit() for character in label) and "β" not in label]
    assert rated and all("learning rate" in label for label in rated), labels


@pytest.mark.tensorflow
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(path.stem for path in CONFIGS.glob("*.yaml")))
def test_the_suggestion_lint_accepts_and_trains_as_well_as_the_usual_rate(name, workdir):
    """Measured (benchmarks/lr_find_rules.py): at the valley rate the test score is higher than at the
    optimizer's usual rate on 9 shipped configs, one test example lower on iris (0.933 against 0.967)."""
    from nnlearn.config.learning_rates import usual_rate
    from nnlearn.training.train import train
    from nnlearn.workflows.validate import validate_file

    path = CONFIGS / f"{name}.yaml"
    found = find(path)
    assert not [warning for warning in validate_file(path, [found["set"]]).warnings
                if warning.path == "compile.optimizer.learning_rate"]
    usual = usual_rate(load_config(path).compile.optimizer.type)
    runs = {label: train(path, [f"compile.optimizer.learning_rate={rate}"], out=workdir / label)
            for label, rate in (("usual", usual), ("suggested", found["suggested_learning_rate"]))}
    metric = "r2" if "r2" in runs["usual"].metrics["test"] else "accuracy"
    one_example = 1 / len(runs["usual"].prepared.splits.test.y) if metric == "accuracy" else 0.0
    scores = {label: run.metrics["test"][metric] for label, run in runs.items()}
    assert scores["suggested"] >= scores["usual"] - one_example - 1e-9, (found["suggested_learning_rate"], scores)


@pytest.mark.tensorflow
def test_each_search_starts_from_a_fresh_model(write_config):
    first, second = find(write_config(TINY)), find(write_config(TINY))
    assert first["losses"] == second["losses"]  # same seed, fresh weights: the same numbers again
    assert first["folder"] != second["folder"]


def test_a_config_mistake_exits_2(write_config):
    result = invoke("lr-find", str(write_config(TINY)), "--set", "fit.batch_size=0", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["problems"][0]["path"] == "fit.batch_size"


@pytest.mark.tensorflow
def test_the_suggested_command_is_printed_whole_on_its_own_line(write_config):
    path = write_config(TINY)
    result = invoke("lr-find", path, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    command = lines[lines.index("Use it:") + 1]
    assert command.startswith(f"  nnlearn train {path} --set compile.optimizer.learning_rate=")
