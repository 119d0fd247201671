"""diagnose: each verdict from the numbers that define it (hand-made histories), then through the CLI on
real runs, including a failed one; `train --from` starts a new run from a saved one."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from nnlearn.cli import app
from nnlearn.diagnose import RunNumbers, curve_title, diagnose
from tests.conftest import DIVERGES, TINY

runner = CliRunner()


def numbers(history, test=0.9, train=0.95, baseline=0.5, status="finished", metric="accuracy", **settings):
    metrics = {"train": {"loss": history[-1]["loss"] if history else 1.0, metric: train},
               "test": {"loss": 0.3, metric: test}} if status == "finished" else {}
    return RunNumbers(history, metrics, {metric: baseline}, settings.get("epochs", len(history)),
                      settings.get("learning_rate", 0.01), settings.get("normalize", "standard"),
                      settings.get("test_rows", 100), status, run_dir="runs/r")


def falling(epochs, start=1.0, end=0.1, val_gap=0.0):
    """A loss falling geometrically from start to end; validation val_gap above it."""
    losses = np.geomspace(start, end, epochs)
    return [{"epoch": float(number), "loss": float(loss), "val_loss": float(loss + val_gap)}
            for number, loss in enumerate(losses, start=1)]


def kinds(verdicts):
    return [verdict.kind for verdict in verdicts]


def test_healthy_when_the_loss_settled_and_validation_agrees():
    settled = falling(30, 1.0, 0.1)[:20] + [{"epoch": float(n), "loss": 0.1, "val_loss": 0.11} for n in range(21, 31)]
    verdicts = diagnose(numbers(settled))
    assert kinds(verdicts) == ["healthy"] and verdicts[0].command is None
    assert curve_title(verdicts).endswith("fell together and settled")


def test_still_improving_names_the_fall_and_doubles_the_epochs():
    verdicts = diagnose(numbers(falling(40, 1.0, 0.05), epochs=40))
    assert kinds(verdicts) == ["still_improving"]
    windows = falling(40, 1.0, 0.05)
    before = np.mean([row["val_loss"] for row in windows[-8:-4]])
    after = np.mean([row["val_loss"] for row in windows[-4:]])
    assert f"{(before - after) / before:.1%}" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r --set fit.epochs=80"


def test_high_variance_names_the_epoch_where_validation_was_best():
    history = [{"epoch": float(n), "loss": 1.0 / n, "val_loss": abs(n - 8) * 0.05 + 0.3} for n in range(1, 31)]
    verdicts = diagnose(numbers(history))
    assert "high_variance" in kinds(verdicts)
    verdict = verdicts[kinds(verdicts).index("high_variance")]
    assert "lowest at epoch 8 (0.3000)" in verdict.evidence
    assert "fit.early_stopping.monitor=val_loss" in verdict.command


def test_learned_nothing_within_the_noise_of_the_test_split():
    flat = [{"epoch": float(n), "loss": 0.69, "val_loss": 0.69} for n in range(1, 11)]
    # 0.55 against 0.5 on 100 test rows: within 2·sqrt(0.25/100) = 0.1 of no learning
    verdicts = diagnose(numbers(flat, test=0.55, train=0.56, normalize="none"))
    assert kinds(verdicts)[0] == "learned_nothing" and "high_bias" not in kinds(verdicts)
    assert "±0.100" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r --set data.normalize=standard"
    # the same accuracy on 10,000 rows is a real (small) gain: not "learned nothing"
    assert "learned_nothing" not in kinds(diagnose(numbers(flat, test=0.55, train=0.56, test_rows=10_000)))
    # a loss that barely moved with scaled features: the learning rate was too small
    barely = diagnose(numbers(flat, test=0.5, train=0.5, learning_rate=1e-5))
    assert barely[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.0001"


def test_high_bias_when_training_error_stays_high():
    verdicts = diagnose(numbers(falling(10, 1.0, 0.6), test=0.7, train=0.7, baseline=0.5))
    assert "high_bias" in kinds(verdicts)
    assert "removed only 40%" in verdicts[kinds(verdicts).index("high_bias")].evidence


def test_diverged_names_the_epoch_where_the_loss_first_grew():
    history = [{"epoch": 1.0, "loss": 5.0}, {"epoch": 2.0, "loss": 4.0}, {"epoch": 3.0, "loss": 40.0}]
    verdicts = diagnose(numbers(history, status="failed", learning_rate=0.5))
    assert kinds(verdicts) == ["diverged"]
    assert "after epoch 3" in verdicts[0].evidence and "grew sharply at epoch 3 (4 → 40)" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.05"
    assert "blew up" in curve_title(verdicts)


@pytest.mark.tensorflow
def test_a_failed_run_is_diagnosed_reported_and_started_again_with_a_lower_rate(write_config, workdir):
    result = runner.invoke(app, ["train", str(write_config(DIVERGES)), "--out", "runs/diverged"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Diverged" in result.output
    assert "nnlearn train --from runs/diverged --set compile.optimizer.learning_rate=10" in result.output
    diagnosed = runner.invoke(app, ["diagnose", "runs/diverged", "--json"])
    assert diagnosed.exit_code == 0, diagnosed.output
    assert [v["kind"] for v in json.loads(diagnosed.stdout)["diagnosis"]] == ["diverged"]
    report = runner.invoke(app, ["report", "runs/diverged", "-o", "diverged.html"])
    assert report.exit_code == 0, report.output
    page = (workdir / "diverged.html").read_text()
    assert "did not finish" in page and "Diverged" in page
    again = runner.invoke(app, ["train", "--from", "runs/diverged", "--set", "compile.optimizer.learning_rate=0.001",
                                "--set", "fit.epochs=2", "--out", "runs/again", "--no-plots", "--json"])
    assert again.exit_code == 0, again.output
    import yaml

    saved = yaml.safe_load((workdir / "runs/again/config.yaml").read_text())
    assert saved["compile"]["optimizer"]["learning_rate"] == 0.001 and saved["fit"]["epochs"] == 2
    assert saved["model"] == yaml.safe_load((workdir / "runs/diverged/config.yaml").read_text())["model"]
    refused = runner.invoke(app, ["train", "--resume", "runs/diverged", "--set", "fit.epochs=3"])
    assert refused.exit_code == 2 and "nnlearn train --from runs/diverged" in refused.output


@pytest.mark.tensorflow
def test_from_with_weights_starts_where_the_saved_run_stopped(write_config, workdir):
    from nnlearn.checkpoint import load_checkpoint
    from nnlearn.model_file import load_saved_model

    first = runner.invoke(app, ["train", str(write_config(TINY)), "--out", "runs/first", "--no-plots"])
    assert first.exit_code == 0, first.output
    saved = load_checkpoint(workdir / "runs/first")["variables"]
    # a learning rate of 0 keeps the weights where they start: exactly the saved run's
    second = runner.invoke(app, ["train", "--from", "runs/first", "--weights", "--set",
                                 "compile.optimizer.type=sgd", "--set", "compile.optimizer.learning_rate=1e-12",
                                 "--set", "fit.epochs=1", "--out", "runs/second", "--no-plots"])
    assert second.exit_code == 0, second.output
    weights = load_saved_model(workdir / "runs/second/model.keras").get_weights()
    kernels = [saved[key] for key in sorted((k for k in saved if k.startswith("model_")),
                                            key=lambda k: int(k.rsplit("_", 1)[1]))][:len(weights)]
    for array, expected in zip(weights, kernels):
        assert np.allclose(array, expected, atol=1e-6)
    fresh = runner.invoke(app, ["train", "--from", "runs/first", "--set", "fit.epochs=1", "--set",
                                "compile.optimizer.learning_rate=1e-12", "--set", "compile.optimizer.type=sgd",
                                "--out", "runs/fresh", "--no-plots"])
    assert fresh.exit_code == 0, fresh.output
    fresh_weights = load_saved_model(workdir / "runs/fresh/model.keras").get_weights()
    assert not np.allclose(fresh_weights[0], weights[0])  # without --weights: fresh initial weights
    mismatch = runner.invoke(app, ["train", "--from", "runs/first", "--weights", "--set", "model.layers[0].units=5"])
    assert mismatch.exit_code == 2 and "do not fit the new model" in mismatch.output
    lonely = runner.invoke(app, ["train", str(write_config(TINY)), "--weights"])
    assert lonely.exit_code == 2 and "--from" in lonely.output
