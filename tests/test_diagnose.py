"""diagnose: each verdict from the numbers that define it (hand-made histories), then through the CLI on
real runs, including a failed one; `train --from` starts a new run from a saved one."""

import dataclasses
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from nnlearn.cli.app import app
from nnlearn.insight.diagnose import curve_title, diagnose
from nnlearn.insight.remedies import _stopping_point
from nnlearn.insight.run_numbers import RunNumbers
from nnlearn.runs.rundir import RunDir
from tests.conftest import DIVERGES, TINY

runner = CliRunner()


def numbers(history, test=0.9, train=0.95, baseline=0.5, status="finished", metric="accuracy", **settings):
    """A run's numbers; settings name RunNumbers fields (epochs for epochs_planned), and validation_loss and
    train_loss are the saved evaluation's (metrics.json)."""
    metrics = {"train": {"loss": settings.pop("train_loss", history[-1]["loss"] if history else 1.0), metric: train},
               "test": {"loss": 0.3, metric: test}} if status == "finished" else {}
    if "validation_loss" in settings:
        metrics["validation"] = {"loss": settings.pop("validation_loss")}
    defaults = {"epochs_planned": settings.pop("epochs", len(history)), "learning_rate": 0.01,
                "normalize": "standard", "test_rows": 100, "validation_rows": 100, "run_dir": "runs/r"}
    known = {field.name for field in dataclasses.fields(RunNumbers)}
    return RunNumbers(history, metrics, {metric: baseline}, status=status,
                      **{name: value for name, value in {**defaults, **settings}.items() if name in known})


def rows(losses, val_losses, **columns):
    """History rows from lists of numbers, epochs counted from 1."""
    return [{"epoch": float(number), "loss": loss, "val_loss": val,
             **{name: values[number - 1] for name, values in columns.items()}}
            for number, (loss, val) in enumerate(zip(losses, val_losses), start=1)]


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
    assert kinds(verdicts) == ["healthy"] and verdicts[0].command == "nnlearn inspect runs/r"
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
    # patience 5 replayed on this history: no new best after epoch 8, so it stops at epoch 13 keeping epoch 8
    assert "stop at epoch 13 and keep epoch 8: val_loss 0.3000" in verdict.next_step
    assert verdict.command.endswith("--set fit.early_stopping.monitor=val_loss --set fit.early_stopping.patience=5"
                                    " --set fit.early_stopping.restore_best_weights=true")


def test_learned_nothing_within_the_noise_of_the_test_split():
    flat = [{"epoch": float(n), "loss": 0.69, "val_loss": 0.69} for n in range(1, 11)]
    # 0.55 against 0.5 on 100 test rows: within 2·sqrt(0.25/100) = 0.1 of no learning
    verdicts = diagnose(numbers(flat, test=0.55, train=0.56, normalize="none"))
    assert kinds(verdicts)[0] == "learned_nothing" and "high_bias" not in kinds(verdicts)
    assert "±0.100" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r --set data.normalize=standard"
    # the same accuracy on 10,000 rows is a real (small) gain: not "learned nothing"
    assert "learned_nothing" not in kinds(diagnose(numbers(flat, test=0.55, train=0.56, test_rows=10_000)))
    # a loss that barely moved with scaled features: the learning rate was too small; below a tenth of the
    # usual (Adam 0.001), straight back to it, as a rate far too large goes straight down
    barely = diagnose(numbers(flat, test=0.5, train=0.5, learning_rate=1e-5))
    assert barely[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.001"
    assert "start again from 0.001 rather than raising it tenfold" in barely[0].next_step
    # sgd a little under its usual 0.01: tenfold, capped at the usual
    sgd = diagnose(numbers(rows([0.69, 0.685, 0.68], [0.69, 0.685, 0.68]), test=0.5, train=0.5, learning_rate=0.005,
                           optimizer="sgd"))
    assert sgd[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.01"


def test_high_bias_when_training_error_stays_high():
    verdicts = diagnose(numbers(falling(10, 1.0, 0.6), test=0.7, train=0.7, baseline=0.5))
    assert "high_bias" in kinds(verdicts)
    assert "removed only 40%" in verdicts[kinds(verdicts).index("high_bias")].evidence


def test_diverged_names_the_epoch_where_the_loss_first_grew():
    history = [{"epoch": 1.0, "loss": 5.0}, {"epoch": 2.0, "loss": 4.0}, {"epoch": 3.0, "loss": 40.0}]
    verdicts = diagnose(numbers(history, status="failed", learning_rate=0.05))
    assert kinds(verdicts) == ["diverged"]
    assert "in epoch 4, after epoch 3 had ended with a finite loss" in verdicts[0].evidence
    assert "first grew sharply at epoch 3 (4 → 40)" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.005"
    assert "blew up" in curve_title(verdicts)
    # Adam at 0.01: a tenth of it is the usual 0.001, but 0.01 is not far above it
    adam = diagnose(numbers(history, status="failed", learning_rate=0.01, optimizer="adam"))
    assert adam[0].next_step.startswith("lower the learning rate (now 0.01) about tenfold")
    assert adam[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.001"


@pytest.mark.tensorflow
def test_a_failed_run_is_diagnosed_reported_and_started_again_with_a_lower_rate(write_config, workdir):
    result = runner.invoke(app, ["train", str(write_config(DIVERGES)), "--out", "runs/diverged"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Diverged" in result.output
    # sgd at 100, far above its usual 0.01: straight back to 0.01, not 10
    assert "nnlearn train --from runs/diverged --set compile.optimizer.learning_rate=0.01" in result.output
    # the failure's fix and the diagnosis below it say the same: twice 0.01, never 10
    assert result.output.count("--set compile.optimizer.learning_rate=0.01\n") == 2, result.output
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
    from nnlearn.model.saved_model import load_saved_model
    from nnlearn.runs.checkpoint import load_checkpoint

    first = runner.invoke(app, ["train", str(write_config(TINY)), "--out", "runs/first", "--no-plots"])
    assert first.exit_code == 0, first.output
    saved = load_checkpoint(RunDir.open(workdir / "runs/first"))["variables"]
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


# A 5-epoch run of configs/softmax_digits.yaml, as reported: still falling about 25% an epoch.
SOFTMAX_5 = rows([2.273, 1.929, 1.539, 1.16, 0.8602], [2.141, 1.794, 1.388, 1.042, 0.7759])


def test_a_few_epochs_of_a_falling_loss_are_still_improving_not_settled():
    verdicts = diagnose(numbers(SOFTMAX_5, test=0.8245, train=0.837, baseline=0.1003))
    assert kinds(verdicts) == ["still_improving"]
    # (1.042 - 0.7759) / 1.042 = 25.5%
    assert "1.042 → 0.7759 in the last epoch (25.5% lower)" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r --set fit.epochs=10"
    # iris at 3 epochs, as reported: 0.4561 → 0.3399 is 25.5% lower too
    iris = rows([1.058, 0.6759, 0.4821], [0.7062, 0.4561, 0.3399])
    assert kinds(diagnose(numbers(iris, test=0.8333, train=0.8286, baseline=0.3333))) == ["still_improving"]


def test_one_epoch_is_too_few_to_tell_and_a_flat_short_run_is_not_called_settled_without_numbers():
    one = diagnose(numbers(SOFTMAX_5[:1], test=0.9, train=0.9, baseline=0.1))
    assert kinds(one) == ["still_improving"] and one[0].title.startswith("Too few epochs to tell")
    flat = diagnose(numbers(rows([0.5, 0.3, 0.295], [0.5, 0.3, 0.297]), test=0.9, train=0.9, baseline=0.1))
    # 0.3 → 0.297 is 1% lower: under the 2% that counts as still falling
    assert kinds(flat) == ["healthy"] and "0.3 → 0.297 in the last epoch, under 2% lower" in flat[0].evidence


def test_a_blown_up_run_gets_one_verdict_and_one_piece_of_advice():
    # learning rate 50, as reported: the loss blew up in epoch 1 and the rest is noise around 20
    noise = [29.8, 24.3, 24.1, 19.9, 22.4, 22.8, 29.9, 25.5, 26.5, 22.8, 23.9, 21.6, 21.8, 24.3, 22.4, 29.1,
             23.6, 28.2, 19.2, 22.1]
    validation = noise[::-1][:16] + [28.5, 27.8, 21.0, 18.3]  # the last 4-epoch stretch lower than the one before
    history = rows([2.71e6] + noise[1:], validation)
    verdicts = diagnose(numbers(history, test=0.1003, train=0.0994, baseline=0.1003, learning_rate=50))
    assert kinds(verdicts) == ["learned_nothing"]
    # Adam at 50, far above its usual 0.001: straight back to it, as lint's warning says
    assert verdicts[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.001"


def test_train_longer_never_suggests_fewer_epochs_than_the_run_went_through():
    # a run resumed past its configured epochs (12 trained, 5 configured): twice 12, not twice 5
    verdicts = diagnose(numbers(falling(12, 1.0, 0.2), epochs=5))
    assert kinds(verdicts) == ["still_improving"]
    assert verdicts[0].command == "nnlearn train --from runs/r --set fit.epochs=24"
    # the interrupted-then-resumed CNN, as reported: planned 600, overfitting since epoch 60, and a last
    # stretch a little lower than the one before: one verdict, overfitting, and no "train longer"
    validation = [1.0 - 0.015 * n for n in range(60)] + [0.11 + 0.0005 * n for n in range(120)] + [0.17] * 6
    history = rows([1.0 / (n + 1) for n in range(186)], validation)
    assert kinds(diagnose(numbers(history, epochs=600, test=0.97, train=1.0, baseline=0.1))) == ["high_variance"]


def test_a_validation_loss_that_wanders_without_a_new_low_is_not_still_improving():
    # the shipped CNN: training loss near zero, validation wandering 0.095–0.145 after its best 0.095 at
    # epoch 10; the last 3-epoch stretch averages 0.1 against 0.13 before (23% lower) but not below 0.095
    validation = [0.5, 0.3, 0.2, 0.15, 0.12, 0.11, 0.1, 0.1, 0.1, 0.095,
                  0.14, 0.12, 0.145, 0.13, 0.12, 0.13, 0.13, 0.13, 0.13, 0.13, 0.13, 0.1, 0.1, 0.1]
    history = rows([0.5 / 2 ** n for n in range(24)], validation)
    verdicts = diagnose(numbers(history, test=0.978, train=1.0, baseline=0.1))
    assert kinds(verdicts) == ["healthy"]
    assert "0.13 then 0.1 over the last two 3-epoch stretches, no lower than its earlier best (0.095)" \
        in verdicts[0].evidence
    # the same fall to a new low (0.09 < 0.095) is still improving
    falling_on = validation[:-3] + [0.09, 0.09, 0.09]
    assert kinds(diagnose(numbers(rows([0.5] * 24, falling_on), test=0.978, train=1.0, baseline=0.1))) \
        == ["still_improving"]


def test_a_rise_within_the_noise_of_the_validation_loss_is_not_overfitting():
    # coffee roasting: 30 validation examples make the validation loss jump ±0.02 around 0.09 at the end
    validation = [0.5 - 0.04 * n for n in range(10)] + [0.08, 0.10, 0.07, 0.09, 0.08, 0.10, 0.11, 0.08, 0.10, 0.11,
                                                         0.08, 0.11, 0.09, 0.10, 0.08, 0.11, 0.09, 0.10, 0.11, 0.08]
    history = rows([0.5 - 0.016 * n for n in range(30)], validation)
    # the best 3-epoch average is 0.0833 (epochs 11-13 and 13-15); the last one 0.0967 is 16% above it but
    # within twice the last stretch's spread (rms 0.0125 about its average)
    verdicts = diagnose(numbers(history, test=0.9667, train=0.99, baseline=0.8))
    assert kinds(verdicts) == ["healthy"]


def test_the_suggested_patience_keeps_the_lowest_validation_loss_not_an_earlier_dip():
    # a plateau at 0.3 (epochs 11-25), then a fall to 0.05 at epoch 35, then a rise to 0.2 at epoch 45
    validation = ([0.5 - 0.02 * n for n in range(11)] + [0.3] * 14 + [0.3 - 0.025 * n for n in range(1, 11)]
                  + [0.05 + 0.015 * n for n in range(1, 11)])
    history = rows([0.5 - 0.011 * n for n in range(45)], validation)
    verdicts = diagnose(numbers(history, test=0.95, train=1.0, baseline=0.5))
    assert kinds(verdicts) == ["high_variance"]
    # patience 5 and 10 stop on the plateau keeping epoch 11 (0.3); patience 20 runs to the end and
    # restore_best_weights brings back epoch 35 (0.05), the lowest
    assert "with patience 20 and restore_best_weights it would run to the end and keep epoch 35: val_loss 0.0500" \
        in verdicts[0].next_step
    assert verdicts[0].command.endswith("fit.early_stopping.patience=20"
                                        " --set fit.early_stopping.restore_best_weights=true")


def keep_with_patience(val_losses, patience):
    """Keras' EarlyStopping with restore_best_weights, written out: the epoch (from 1) whose weights it ends with."""
    best, kept, wait = float("inf"), 0, 0
    for index, loss in enumerate(val_losses):
        wait += 1
        if loss < best:
            best, kept, wait = loss, index, 0
        elif wait >= patience:
            break
    return kept + 1


def test_the_cnn_at_100_epochs_is_told_a_patience_that_keeps_epoch_60_not_20():
    # as reported: a first dip at epoch 20 (0.112), the lowest val_loss 0.086 at epoch 60, 0.118 at epoch 100;
    # patience 5 kept epoch 20 and lowered the test accuracy
    validation = ([0.9 - 0.04 * n for n in range(19)] + [0.112] + [0.125, 0.13, 0.12, 0.135, 0.128, 0.121] * 5
                  + [0.1, 0.096, 0.099, 0.094, 0.097, 0.1, 0.096, 0.099, 0.094] + [0.086]
                  + [0.098, 0.095, 0.1, 0.097, 0.099] * 2 + [0.12, 0.117, 0.125, 0.118, 0.121, 0.116] * 5)
    losses = [0.5 / n for n in range(1, 101)]
    assert len(validation) == 100 and validation.index(min(validation)) == 59
    verdicts = diagnose(numbers(rows(losses, validation), test=0.97, train=1.0, baseline=0.1))
    assert kinds(verdicts) == ["high_variance"]
    assert "keep epoch 60" in verdicts[0].next_step and "keep epoch 20" not in verdicts[0].next_step
    patience = int(verdicts[0].command.split("fit.early_stopping.patience=")[1].split()[0])
    assert keep_with_patience(validation, patience) == 60
    assert keep_with_patience(validation, 5) == 20  # the patience suggested before


def test_early_stopping_keeps_an_epoch_only_if_its_validation_accuracy_is_no_worse_beyond_noise():
    history = [{"epoch": float(n), "loss": 1.0 / n, "val_loss": abs(n - 8) * 0.05 + 0.3,
                "val_accuracy": 0.9 if n == 8 else 0.97} for n in range(1, 31)]
    # 0.9 against 0.97 at the end: 2·sqrt(0.97·0.03/100) = 0.034 of noise, so 0.07 fewer is worse
    worse = diagnose(numbers(history))
    assert kinds(worse) == ["high_variance"] and worse[0].command is None
    # on 20 validation examples the noise is 2·sqrt(0.97·0.03/20) = 0.076: the same gap is within it
    within = diagnose(numbers(history, validation_rows=20))
    assert "fit.early_stopping.patience=5 " in within[0].command


def test_stopping_point_follows_keras_early_stopping():
    # best 0.8 at index 1; indices 2 and 3 do not beat it, so patience 2 stops at index 3 and keeps index 1
    assert _stopping_point([1.0, 0.8, 0.9, 0.85, 0.7], 2) == (3, 1)
    assert _stopping_point([1.0, 0.8, 0.7, 0.6], 2) is None  # it would have run to the end


def test_learned_nothing_after_early_stopping_blames_the_stop_not_the_labels():
    # coffee roasting stopped at epoch 27 of 300 by patience 5, its validation accuracy 0.9667 at epoch 22
    history = rows(np.geomspace(0.55, 0.23, 27).tolist(), np.geomspace(0.48, 0.185, 27).tolist(),
                   val_accuracy=[0.8] * 21 + [0.9667] * 6)
    verdicts = diagnose(numbers(history, test=0.8, train=0.92, baseline=0.8, epochs=300, patience=5, test_rows=60))
    assert kinds(verdicts) == ["learned_nothing"]
    assert "ended it at epoch 27 of 300" in verdicts[0].next_step and "0.9667 at epoch 22" in verdicts[0].next_step
    assert verdicts[0].command == "nnlearn train --from runs/r --set fit.early_stopping.patience=20"
    # without early stopping and without a good epoch, the labels are one possibility among others
    plain = diagnose(numbers(rows([0.7, 0.5, 0.4], [0.7, 0.6, 0.6]), test=0.5, train=0.6, baseline=0.5))
    assert "Possibly" in plain[0].next_step and "may not follow" in plain[0].next_step


def test_high_bias_advises_more_epochs_only_while_the_loss_still_falls():
    still = diagnose(numbers(falling(10, 1.0, 0.6), test=0.7, train=0.7, baseline=0.5))
    assert kinds(still) == ["high_bias"] and still[0].command == "nnlearn train --from runs/r --set fit.epochs=20"
    settled = [{"epoch": float(n), "loss": 0.6, "val_loss": 0.6} for n in range(1, 11)]
    flat = diagnose(numbers(settled, test=0.7, train=0.7, baseline=0.5))
    assert kinds(flat) == ["high_bias"] and flat[0].command is None


@pytest.mark.tensorflow
def test_train_and_diagnose_give_the_same_verdict(write_config, workdir):
    trained = runner.invoke(app, ["train", str(write_config(TINY)), "--out", "runs/same", "--no-plots", "--json"])
    assert trained.exit_code == 0, trained.output
    diagnosed = runner.invoke(app, ["diagnose", "runs/same", "--json"])
    assert diagnosed.exit_code == 0, diagnosed.output
    verdicts = json.loads(trained.stdout)["diagnosis"]
    assert len(verdicts) == 1 and verdicts == json.loads(diagnosed.stdout)["diagnosis"]


def spiky_cnn(epochs=2000, seed=0):
    """A 2000-epoch CNN run as reported: val_loss falls to 0.086 at epoch 60, then rises steadily to 0.57 at
    epoch 2000, with the spikes of a training loss near 0 (a few epochs jump to 1-3)."""
    rng = np.random.RandomState(seed)
    validation = np.concatenate([np.linspace(1.0, 0.086, 60), np.linspace(0.09, 0.57, epochs - 60)])
    validation = validation * (1 + 0.05 * rng.randn(epochs))
    spikes = rng.rand(epochs) < 0.04
    validation[spikes] += rng.uniform(1, 3, spikes.sum())
    validation[59], validation[60:] = 0.086, np.maximum(validation[60:], 0.09)  # the lowest: 0.086 at epoch 60
    losses = np.concatenate([np.geomspace(1.0, 1e-3, 60), np.geomspace(1e-3, 1e-6, epochs - 60)])
    return rows(losses.tolist(), validation.tolist())


def test_a_validation_loss_far_above_its_minimum_is_overfitting_even_with_spikes():
    verdicts = diagnose(numbers(spiky_cnn(), test=0.95, train=1.0, baseline=0.1))
    assert kinds(verdicts) == ["high_variance"]
    assert "lowest at epoch 60 (0.0860)" in verdicts[0].evidence and "median" in verdicts[0].evidence
    for remedy in ("L2", "dropout", "smaller model", "more data", "keep epoch 60"):
        assert remedy in verdicts[0].next_step


def test_the_shipped_cnn_at_its_60_epochs_stays_healthy_and_names_its_gap():
    # configs/cnn_digits.yaml as trained: training loss near 0, validation wandering 0.1-0.15 to 0.0861 at the end
    losses = [1.76306, 0.61887, 0.29106, 0.18886, 0.12649, 0.10291, 0.08016, 0.06057, 0.07009, 0.05048, 0.03396,
              0.03688, 0.02813, 0.02156, 0.01988, 0.01809, 0.01461, 0.01614, 0.01402, 0.02049, 0.01317, 0.00844,
              0.01109, 0.00646, 0.0058, 0.00483, 0.00635, 0.00535, 0.00549, 0.00365, 0.00303, 0.00385, 0.00472,
              0.00459, 0.00278, 0.0024, 0.00326, 0.00247, 0.00261, 0.00325, 0.00201, 0.00249, 0.00207, 0.0029,
              0.00421, 0.00305, 0.00177, 0.00164, 0.00147, 0.00215, 0.00528, 0.00369, 0.0018, 0.00112, 0.00088,
              0.00094, 0.00116, 0.00127, 0.00216, 0.00106]
    validation = [0.9771, 0.3897, 0.2764, 0.2313, 0.1632, 0.1427, 0.1576, 0.1767, 0.1601, 0.1272, 0.1343, 0.1444,
                  0.1269, 0.1324, 0.1427, 0.1481, 0.1243, 0.1315, 0.1466, 0.1123, 0.1374, 0.1221, 0.1235, 0.1288,
                  0.1261, 0.1142, 0.1261, 0.1297, 0.135, 0.1389, 0.1221, 0.1199, 0.1087, 0.108, 0.0984, 0.108,
                  0.1167, 0.1365, 0.131, 0.1192, 0.1146, 0.1303, 0.1409, 0.1153, 0.1229, 0.14, 0.1424, 0.1433,
                  0.1098, 0.099, 0.1141, 0.1076, 0.1091, 0.1073, 0.1108, 0.103, 0.0953, 0.1112, 0.0998, 0.0861]
    verdicts = diagnose(numbers(rows(losses, validation), test=0.9777, train=1.0, baseline=0.1003))
    assert kinds(verdicts) == ["healthy"]
    # a large gap is named, not called "no sign of overfitting"
    assert "no sign of overfitting" not in verdicts[0].evidence
    assert "it fits its training examples better than new ones" in verdicts[0].evidence


def test_a_few_epochs_of_a_clearly_falling_loss_are_still_improving_not_learned_nothing():
    # configs/coffee_roasting.yaml at 5 epochs, as reported: test accuracy still the majority class's 0.8
    history = rows([0.549, 0.46, 0.411, 0.383, 0.365], [0.482, 0.418, 0.384, 0.352, 0.333])
    verdicts = diagnose(numbers(history, test=0.8, train=0.8, baseline=0.8, test_rows=60))
    assert kinds(verdicts) == ["still_improving"]
    assert "0.352 → 0.333 in the last epoch (5.4% lower)" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r --set fit.epochs=10"


def test_the_blown_up_text_names_the_models_own_activations():
    # coffee roasting at learning rate 50: the loss 22.4 in epoch 1 against 2.0 at best, test = no learning
    history = rows([22.4, 12.0, 6.92, 7.09, 9.5, 12.1, 9.43, 2.0, 5.94, 5.64],
                   [23.0, 12.0, 9.25, 9.24, 22.4, 2.48, 4.98, 7.53, 8.19, 2.88])
    settings = {"test": 0.8, "train": 0.8, "baseline": 0.8, "learning_rate": 50, "initial_loss": 0.693}
    # it ends (last 3 epochs: 4.53) above 2 × 0.693 + 1: the steps never let it come down
    ended_high = diagnose(numbers(history, activations=("sigmoid", "linear"), **settings))
    assert kinds(ended_high) == ["diverged"] and "sigmoid unit into saturation" in ended_high[0].evidence
    # the same blow-up, then back under where an untrained model starts: learned nothing, for that reason
    history = rows([22.4, 12.0, 6.92, 7.09, 9.5, 12.1, 9.43, 0.69, 0.68, 0.68],
                   [23.0, 12.0, 9.25, 9.24, 22.4, 2.48, 4.98, 0.7, 0.69, 0.69])
    sigmoid = diagnose(numbers(history, activations=("sigmoid", "linear"), **settings))
    assert kinds(sigmoid) == ["learned_nothing"]
    assert "ReLU" not in sigmoid[0].next_step and "sigmoid unit into saturation" in sigmoid[0].next_step
    relu = diagnose(numbers(history, activations=("relu", "linear"), **settings))
    assert "kill every ReLU unit" in relu[0].next_step
    linear = diagnose(numbers(history, activations=("linear",), **settings))
    assert "ReLU" not in linear[0].next_step and "saturation" not in linear[0].next_step


def test_a_finite_loss_orders_of_magnitude_above_the_start_is_diverged():
    # configs/mlp_regression.yaml at learning rate 100: 3.5e15 in epoch 1, then about 3.9e5, where an
    # untrained model starts from mean(y²) = 2.887e4
    history = rows([3.515e15, 2.38e5, 3.27e5, 3.67e5] + [3.9e5] * 36, [1.72e5, 2.92e5] + [3.84e5] * 38)
    verdicts = diagnose(numbers(history, metric="r2", test=-71.3, train=-70.0, baseline=-0.0131,
                                learning_rate=100, initial_loss=2.887e4))
    assert kinds(verdicts) == ["diverged"]
    assert "3.515e+15 in epoch 1, 1.2e+11 times the 2.887e+04 an untrained model starts from" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.001"
    # a run that blew up in epoch 1 but came back below where it started has not diverged
    recovered = rows([3.5e6] + [2e4 * 0.9 ** n for n in range(39)], [2e4 * 0.9 ** n for n in range(40)])
    assert "diverged" not in kinds(diagnose(numbers(recovered, metric="r2", test=0.8, train=0.85, baseline=0.0,
                                                    initial_loss=2.887e4)))


def test_a_loss_that_is_nan_in_the_first_epoch_says_so():
    verdicts = diagnose(numbers([], status="failed", learning_rate=10))
    assert kinds(verdicts) == ["diverged"]
    assert "in epoch 1, before the first epoch ended" in verdicts[0].evidence and "epoch 0" not in verdicts[0].evidence


def test_no_train_longer_when_validation_has_nothing_left_to_gain():
    # configs/iris_softmax.yaml as trained: validation accuracy 1.0 and the validation loss still creeping down
    history = rows(np.geomspace(0.2, 0.05, 100).tolist(), np.geomspace(0.1, 0.033, 100).tolist(),
                   val_accuracy=[0.9] * 30 + [1.0] * 70)
    perfect = diagnose(numbers(history, test=1.0, train=0.98, baseline=0.3333))
    assert kinds(perfect) == ["healthy"] and "validation accuracy is already 1.0000" in perfect[0].evidence
    assert "it had not settled" not in perfect[0].evidence
    # validation accuracy stuck at 0.95 since epoch 40 while the loss creeps down: no new best to train for
    stuck = rows(np.geomspace(0.2, 0.05, 100).tolist(), np.geomspace(0.3, 0.1, 100).tolist(),
                 val_accuracy=[0.9] * 39 + [0.95] * 61)
    verdicts = diagnose(numbers(stuck, test=0.95, train=0.98, baseline=0.3333))
    assert kinds(verdicts) == ["healthy"] and "no new best since epoch 40 (0.9500" in verdicts[0].evidence
    # a validation accuracy still making new bests is still worth more epochs
    climbing = rows(np.geomspace(0.2, 0.05, 100).tolist(), np.geomspace(0.3, 0.1, 100).tolist(),
                    val_accuracy=np.linspace(0.8, 0.96, 100).tolist())
    assert kinds(diagnose(numbers(climbing, test=0.95, train=0.98, baseline=0.3333))) == ["still_improving"]


def test_every_verdict_keeps_its_json_keys():
    keys = {"kind", "title", "evidence", "next_step", "command"}
    cases = [numbers([], status="failed"), numbers(falling(40, 1.0, 0.05)), numbers(spiky_cnn(300), train=1.0),
             numbers(falling(10, 1.0, 0.6), test=0.7, train=0.7), numbers(falling(30, 1.0, 0.1)[:5] * 1)]
    for case in cases:
        verdicts = diagnose(case)
        assert len(verdicts) == 1 and set(verdicts[0].to_json()) == keys


def moons_early_stopped(rise_to=0.33):
    """configs/moons_mlp.yaml with early stopping on val_loss, patience 20: val_loss lowest (0.0606) at epoch 47,
    rising to rise_to by epoch 67 where it stopped, while the training loss kept falling."""
    validation = np.geomspace(0.37, 0.0606, 47).tolist() + np.linspace(0.07, rise_to, 20).tolist()
    return rows(np.geomspace(0.62, 0.05, 67).tolist(), validation)


def test_early_stopping_that_brought_back_its_best_epoch_is_judged_by_that_epoch():
    # as reported: stopped at 67, kept epoch 47 (metrics.json: validation 0.0606, train 0.1062), yet it was told
    # "high variance" from the thrown-away epochs and to use the very early stopping it had used
    settings = {"epochs": 1000, "patience": 20, "restore_best_weights": True, "validation_loss": 0.0606,
                "train_loss": 0.1062, "units": (64, 64, 1), "activations": ("relu", "relu", "linear")}
    verdicts = diagnose(numbers(moons_early_stopped(), test=1.0, train=0.9571, baseline=0.5, **settings))
    assert kinds(verdicts) == ["healthy"]
    assert "stopped the run at epoch 67 of 1000 and kept the weights of epoch 47" in verdicts[0].evidence
    assert "validation loss 0.0606 against training loss 0.1062" in verdicts[0].evidence
    assert "early_stopping" not in verdicts[0].command
    # without restore_best_weights the model ends with epoch 67's weights: overfitting, as before
    last = diagnose(numbers(moons_early_stopped(), test=1.0, train=0.9571, baseline=0.5,
                            **{**settings, "restore_best_weights": False}))
    assert kinds(last) == ["high_variance"]


def test_overfitting_left_at_the_kept_epoch_gets_another_remedy_than_early_stopping():
    # configs/cnn_digits.yaml for 200 epochs with patience 50: stopped at 110, kept epoch 60 (val_loss 0.0861)
    # where the training loss was already 0.00025: overfitting remains at the kept epoch
    validation = np.geomspace(0.98, 0.0861, 60).tolist() + np.linspace(0.1, 0.12, 50).tolist()
    history = rows(np.geomspace(1.76, 1e-4, 110).tolist(), validation)
    verdicts = diagnose(numbers(history, test=0.9777, train=1.0, baseline=0.1003, epochs=200, patience=50,
                                restore_best_weights=True, validation_loss=0.0861, train_loss=0.00025,
                                units=(None, None, None, None, None, 64, 10),
                                l2=(0.0,) * 7))
    assert kinds(verdicts) == ["high_variance"]
    assert "kept the weights of epoch 60" in verdicts[0].evidence
    assert "validation loss 0.0861 against training loss 0.00025" in verdicts[0].evidence
    assert "patience" not in verdicts[0].next_step.split("early stopping already")[1]
    assert verdicts[0].command == "nnlearn train --from runs/r --set 'model.layers[5].kernel_regularizer.l2=0.001'"
    # a layer that has an L2 penalty already is offered ten times as much
    stronger = diagnose(numbers(history, test=0.9777, train=1.0, baseline=0.1003, epochs=200, patience=50,
                                restore_best_weights=True, validation_loss=0.0861, train_loss=0.00025,
                                units=(None, 64, 10), l2=(0.0, 0.001, 0.0)))
    assert stronger[0].command.endswith("--set 'model.layers[1].kernel_regularizer.l2=0.01'")
    # but never a penalty so large that lint warns the weights shrink to 0
    strong = diagnose(numbers(history, test=0.9777, train=1.0, baseline=0.1003, epochs=200, patience=50,
                              restore_best_weights=True, validation_loss=0.0861, train_loss=0.00025,
                              units=(None, 64, 10), l2=(0.0, 0.01, 0.0)))
    assert strong[0].command is None and "already has an L2 penalty of 0.01" in strong[0].next_step


DIGITS_FLAT = {"test": 0.1031, "train": 0.1017, "baseline": 0.1003, "test_rows": 359,
               "initial_loss": math.log(10), "activations": ("relu", "relu", "linear")}


def test_a_flat_loss_through_a_one_unit_layer_is_a_bottleneck_not_a_small_learning_rate():
    # configs/softmax_digits.yaml with model.layers[0].units=1 and model.layers[1].units=1: the loss stays at
    # ln 10 = 2.303, and the old advice (learning_rate 0.01, then 0.1) learned nothing each time
    flat = rows([2.3026] * 40, [2.3027] * 40)
    verdicts = diagnose(numbers(flat, learning_rate=0.001, units=(1, 1, 10), **DIGITS_FLAT))
    assert kinds(verdicts) == ["learned_nothing"]
    assert verdicts[0].command == ("nnlearn train --from runs/r --set 'model.layers[0].units=16'"
                                   " --set 'model.layers[1].units=16'")
    assert "fewer than the 10 classes" in verdicts[0].next_step and "nnlearn inspect runs/r" in verdicts[0].next_step
    assert "ReLU units can all die" in verdicts[0].next_step
    # one narrow layer beside a wide one: widened to the wide one's width
    one = diagnose(numbers(flat, learning_rate=0.001, units=(25, 1, 10), **DIGITS_FLAT))
    assert one[0].command == "nnlearn train --from runs/r --set 'model.layers[1].units=25'"
    # moons (2 classes) with 1-unit layers at Adam 0.01: a bottleneck too, not "try 0.1"
    moons = diagnose(numbers(rows([0.694] + [0.6932] * 49, [0.6931] * 50), test=0.5, train=0.5, baseline=0.5,
                             learning_rate=0.01, units=(1, 1, 1), initial_loss=math.log(2),
                             activations=("relu", "relu", "linear")))
    assert moons[0].command.endswith("--set 'model.layers[0].units=16' --set 'model.layers[1].units=16'")


def test_a_small_learning_rate_is_blamed_only_where_it_is_likely():
    wide = {**DIGITS_FLAT, "units": (25, 15, 10)}
    # Adam at its usual 0.001 with a flat loss: dead units, not a small rate (Adam's step hardly depends on
    # the gradient's size)
    adam = diagnose(numbers(rows([2.3026] * 40, [2.3027] * 40), learning_rate=0.001, **wide))
    assert adam[0].command == "nnlearn inspect runs/r" and "not a small-rate problem" in adam[0].next_step
    # plain gradient descent at 0.002, its loss falling slowly (2.30 → 2.20): the rate, up to sgd's usual 0.01
    slow = rows(np.linspace(2.30, 2.20, 40).tolist(), np.linspace(2.30, 2.21, 40).tolist())
    sgd = diagnose(numbers(slow, learning_rate=0.002, optimizer="sgd", **wide))
    assert sgd[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.01"


def test_a_first_epoch_far_above_the_untrained_loss_means_the_steps_were_too_large():
    # configs/softmax_digits.yaml at Adam 0.5 (after "try 5", "try 0.5"): epoch 1's loss 4.157 against the 2.303
    # of an untrained model, then about 2.36 with every ReLU dead: it was told "poor minimum", with no command
    losses = [4.157, 2.374, 2.36, 2.353, 2.37, 2.363] + [2.36, 2.37] * 17
    verdicts = diagnose(numbers(rows(losses, [2.35] * 40), learning_rate=0.5, units=(25, 15, 10), **DIGITS_FLAT))
    assert kinds(verdicts) == ["learned_nothing"]
    assert "epoch 1: 4.157, 1.8 times the 2.303 an untrained model starts from" in verdicts[0].next_step
    assert verdicts[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.001"


def test_a_rate_far_above_the_usual_goes_straight_back_to_it():
    history = [{"epoch": 1.0, "loss": 5.0}]
    far = {"adam": (5, "0.001"), "sgd": (5, "0.01")}
    for optimizer, (rate, usual) in far.items():
        verdicts = diagnose(numbers(history, status="failed", learning_rate=rate, optimizer=optimizer))
        assert verdicts[0].command.endswith(f"learning_rate={usual}") and "far above" in verdicts[0].next_step
    # sgd at 0.5 is not far above its usual 0.01 (under 100 times): tenfold
    near = diagnose(numbers(history, status="failed", learning_rate=0.5, optimizer="sgd"))
    assert near[0].command.endswith("learning_rate=0.05")


def test_a_rate_lint_calls_far_above_the_usual_range_goes_straight_back_to_the_usual_rate():
    from nnlearn.config.learning_rates import lowered_rate, usual_range

    low, high = usual_range("adam")
    assert (low, high) == (1e-5, 0.1)  # the range the config's warning names
    assert lowered_rate(high * 1.01, "adam") == (0.001, True)
    assert lowered_rate(high, "adam") == (high / 10, False)


def test_diverged_names_epoch_1_when_the_first_epoch_blew_up():
    # configs/moons_mlp.yaml at learning rate 100: 3.237e6 in epoch 1 from the untrained 0.693; it was said to
    # have first grown sharply at epoch 6 (2.258 → 3.919), a later and smaller jump
    losses = [3.237e6, 40.0, 9.278, 5.0, 2.258, 3.919, 13.25, 4.555, 3.845, 10.38] * 5
    verdicts = diagnose(numbers(rows(losses, losses), test=0.5, train=0.5, baseline=0.5, learning_rate=100,
                                initial_loss=math.log(2)))
    assert kinds(verdicts) == ["diverged"]
    assert "reached 3.237e+06 in epoch 1" in verdicts[0].evidence and "epoch 6" not in verdicts[0].evidence
    # a first sharp growth before the peak is named, from where an untrained model starts
    later = [3.0, 100.0, 1e5, 5e4] + [50.0] * 6
    grew = diagnose(numbers(rows(later, later), test=0.5, train=0.5, baseline=0.5, initial_loss=math.log(2)))
    assert "first grew sharply at epoch 1 (the 0.6931 an untrained model starts from → 3)" \
        in grew[0].evidence


def test_a_spike_in_the_last_stretch_is_called_a_rise_and_weighed_by_its_median():
    # configs/iris_softmax.yaml with batch_size 1 for 300 epochs: validation loss near 0.001, one epoch (284)
    # at 1.454; the last stretch averaged 60 times the one before, and was said to "no longer fall"
    rng = np.random.RandomState(0)
    validation = np.geomspace(0.5, 0.0008, 240).tolist() + (0.0005 + 0.0003 * rng.rand(30)).tolist() \
        + (0.0015 + 0.0003 * rng.rand(30)).tolist()
    validation[283] = 1.454
    history = rows(np.geomspace(0.6, 0.0007, 300).tolist(), validation, val_accuracy=[1.0] * 300)
    verdicts = diagnose(numbers(history, test=1.0, train=1.0, baseline=0.3333))
    evidence = verdicts[0].evidence
    assert "no longer falls" not in evidence and "times the stretch before" in evidence
    assert "one spike (1.454 in epoch 284)" in evidence and "its median rose too" in evidence
    assert "near 0" in evidence
    # the same spike over a steady median: noise
    steady = validation[:270] + (0.0005 + 0.0003 * rng.rand(30)).tolist()
    steady[283] = 1.454
    flat = diagnose(numbers(rows(np.geomspace(0.6, 0.0007, 300).tolist(), steady), test=1.0, train=1.0,
                            baseline=0.3333))
    assert "its median did not rise" in flat[0].evidence or "its median rose only" in flat[0].evidence
    assert "noise, not a trend" in flat[0].evidence


# configs/logistic_regression.yaml at learning rate 50 (Adam): the training loss of each epoch, 60 epochs
LOGISTIC_RATE_50 = [12.62, 14.18, 16.22, 13.38, 14.64, 9.73, 8.43, 8.23, 12.62, 10.95, 16.04, 9.7, 13.51, 10.73,
                    6.21, 7.66, 5.95, 9.3, 7.68, 7.71, 6.07, 8.06, 5.51, 4.74, 7.82, 18.98, 17.7, 23.82, 13.53,
                    11.23, 7.95, 7.44, 8.15, 12.8, 8.17, 8.29, 9.33, 9.88, 7.47, 15.25, 9.44, 7.98, 8.68, 12.32,
                    16.81, 14.26, 13.62, 11.5, 9.43, 9.55, 10.69, 12.6, 12.97, 9.98, 9.61, 9.99, 7.42, 5.61, 6.74, 4.7]


def test_a_training_loss_that_never_comes_down_to_the_untrained_start_is_diverged():
    # under 100 × ln 2 every epoch, but ending (last 6 epochs: 7.345) far above the 0.693 an untrained model
    # starts from; its validation loss wanders between 0 and 25, its test accuracy 0.965 against 0.63
    history = rows(LOGISTIC_RATE_50, [0.0] * 20 + [0.94, 0.0, 0.0, 0.0] * 9 + [4.32] * 4)
    settings = {"test": 0.965, "train": 0.975, "baseline": 0.6316, "learning_rate": 50.0,
                "initial_loss": math.log(2), "activations": ("linear",), "units": (1,)}
    verdicts = diagnose(numbers(history, **settings))
    assert kinds(verdicts) == ["diverged"] and verdicts[0].title == "Diverged: the steps were too large"
    assert "averaged 7.345 over the last 6 epochs, 11 times the 0.6931 an untrained model" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.001"
    # 2 × 0.693 + 1 = 2.386: a loss ending at 2.3 (a slow start from a bad setup) is not called diverged
    slow = rows([9.0, 6.0, 4.0, 3.0, 2.5, 2.3, 2.3, 2.3], [9.0, 6.0, 4.0, 3.0, 2.5, 2.3, 2.3, 2.3])
    assert "diverged" not in kinds(diagnose(numbers(slow, **settings)))


def test_a_stalled_coarse_validation_accuracy_does_not_overrule_a_falling_validation_loss():
    # configs/moons_mlp.yaml at learning rate 0.0001: both losses still fall about 1% an epoch, validation
    # accuracy (100 rows: steps of 0.01) stays at 0.85 from epoch 39, training accuracy 0.85
    history = rows(np.geomspace(0.84, 0.384, 50).tolist(), np.geomspace(0.80, 0.382, 50).tolist(),
                   val_accuracy=np.minimum(np.linspace(0.5, 0.9, 50), 0.85).tolist())
    settings = {"test": 0.885, "train": 0.85, "baseline": 0.5, "learning_rate": 0.0001}
    verdicts = diagnose(numbers(history, **settings))
    assert kinds(verdicts) == ["still_improving"]
    assert verdicts[0].command == "nnlearn train --from runs/r --set fit.epochs=100"
    # a training accuracy near perfect: the plateau of the validation accuracy still says there is little to gain
    assert kinds(diagnose(numbers(history, **{**settings, "train": 0.97}))) == ["healthy"]


def test_three_epochs_with_the_training_loss_still_falling_are_still_improving():
    # configs/moons_mlp.yaml with fit.epochs=3: validation loss 1.2% lower in the last epoch, training loss 5.2%
    history = rows([0.4688, 0.3105, 0.2945], [0.3178, 0.2912, 0.2877], val_accuracy=[0.86, 0.88, 0.87])
    verdicts = diagnose(numbers(history, test=0.875, train=0.86, baseline=0.5))
    assert kinds(verdicts) == ["still_improving"]
    assert "the training loss 0.3105 → 0.2945 (5.2% lower)" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r --set fit.epochs=6"
    # the training loss flat too: it has settled, even after 3 epochs
    flat = rows([0.4688, 0.2950, 0.2945], [0.3178, 0.2912, 0.2877], val_accuracy=[0.86, 0.88, 0.87])
    assert kinds(diagnose(numbers(flat, test=0.875, train=0.86, baseline=0.5))) == ["healthy"]


def test_still_improving_at_a_rate_far_too_small_goes_straight_to_the_usual_rate():
    verdicts = diagnose(numbers(falling(40, 1.0, 0.3), epochs=40, learning_rate=1e-5, train=0.9))
    assert kinds(verdicts) == ["still_improving"]
    assert verdicts[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.001"
    # a tenth of the usual is not far too small: train longer
    tenth = diagnose(numbers(falling(40, 1.0, 0.3), epochs=40, learning_rate=1e-4, train=0.9))
    assert tenth[0].command == "nnlearn train --from runs/r --set fit.epochs=80"


def test_no_epoch_recorded_is_too_few_to_tell():
    verdicts = diagnose(numbers([], test=0.9, train=0.95, epochs=40))
    assert kinds(verdicts) == ["still_improving"] and verdicts[0].title == "Too few epochs to tell"
    assert "history.csv is empty or missing" in verdicts[0].evidence
    assert verdicts[0].command == "nnlearn train --from runs/r"
    # a failed run without an epoch is still diverged
    assert kinds(diagnose(numbers([], status="failed", learning_rate=10))) == ["diverged"]


def test_the_epochs_early_stopping_threw_away_are_described_as_the_history_shows():
    # early stopping on val_accuracy kept epoch 11; its validation loss fell after it (0.139 → 0.105)
    val_losses = [0.3, 0.2, 0.18, 0.17, 0.16, 0.155, 0.15, 0.145, 0.142, 0.14, 0.139, 0.13, 0.125, 0.12, 0.118,
                  0.115, 0.112, 0.11, 0.108, 0.106, 0.105]
    history = rows([loss - 0.03 for loss in val_losses], val_losses,
                   val_accuracy=[0.86, 0.9, 0.92, 0.93, 0.94, 0.94, 0.95, 0.95, 0.95, 0.95, 0.96] + [0.95] * 10)
    verdicts = diagnose(numbers(history, test=0.975, train=0.964, epochs=300, patience=10,
                                restore_best_weights=True, monitor="val_accuracy", validation_loss=0.1393,
                                train_loss=0.1084))
    assert verdicts[0].title == "Looks healthy: early stopping kept its best epoch"
    assert "where the validation loss rose" not in verdicts[0].evidence
    assert "the 10 epochs after it, where val_accuracy did not improve on it, were thrown away" in verdicts[0].evidence
    assert "the validation loss did go on falling after it, from 0.139 to 0.105 at best" in verdicts[0].evidence


def test_a_rise_says_only_when_the_median_rose_less_than_the_average():
    from nnlearn.insight.diagnose import _rise

    history = rows([0.1] * 6, [1.0] * 6)
    # the average rose 7.8%, the median 9%: more, not "only"
    assert _rise(numbers(history), [1.0, 1.0, 1.0, 1.09, 1.09, 1.054], 3) == \
        "it rose 7.8%; its median rose 9% (1 → 1.09): noise, not a trend"
    assert "its median rose only 2% (1 → 1.02)" in _rise(numbers(history), [1.0, 1.0, 1.0, 1.2, 1.02, 1.02], 3)


def test_a_retrain_command_quotes_what_a_shell_would_expand():
    import shlex

    from nnlearn.insight.run_numbers import retrain

    command = retrain(numbers(falling(3), run_dir="my runs/r"), "model.layers[0].units=16", "fit.epochs=6")
    assert command == "nnlearn train --from 'my runs/r' --set 'model.layers[0].units=16' --set fit.epochs=6"
    assert shlex.split(command)[3:] == ["my runs/r", "--set", "model.layers[0].units=16", "--set", "fit.epochs=6"]


def test_a_rising_validation_loss_with_a_falling_training_loss_is_overfitting_even_below_it():
    """With dropout, the training loss (measured while training) stays above the validation loss; a
    validation loss that rises beyond its noise while the training loss keeps falling is still the
    textbook sign (mlp_regression at 1500 epochs: 1896 → 2124 while training fell 2830 → 2150)."""
    wobble = [0.02, -0.02, 0.01, -0.01, 0.0]
    history = [{"epoch": epoch + 1, "loss": 2.0 - 0.01 * epoch,
                "val_loss": (1.5 - 0.05 * epoch if epoch < 10 else 1.0 + 0.004 * (epoch - 10)) + wobble[epoch % 5]}
               for epoch in range(60)]
    [verdict] = diagnose(numbers(history, metric="r2", test=0.4, train=0.5, baseline=0.0))
    assert verdict.kind == "high_variance", verdict
    assert "while the training loss fell from" in verdict.evidence
    noise = [{**row, "val_loss": 1.0 + wobble[index % 5] * 5} for index, row in enumerate(history)]
    assert diagnose(numbers(noise, metric="r2", test=0.4, train=0.5, baseline=0.0))[0].kind != "high_variance"


def test_a_healthy_run_of_linear_hidden_layers_is_told_it_is_one_linear_model():
    history = [{"epoch": epoch + 1, "loss": 0.6 - 0.01 * min(epoch, 20), "val_loss": 0.62 - 0.01 * min(epoch, 20)}
               for epoch in range(40)]
    linear = dict(units=(8, 8, 1), activations=("linear", "linear", "linear"))
    [verdict] = diagnose(numbers(history, test=0.875, train=0.86, **linear))
    assert verdict.kind == "healthy" and verdict.title == "Looks healthy for a linear model"
    assert verdict.command == ("nnlearn train --from runs/r --set 'model.layers[0].activation=relu' "
                               "--set 'model.layers[1].activation=relu'")
    relu = dict(units=(8, 8, 1), activations=("relu", "linear", "linear"))
    assert diagnose(numbers(history, test=0.875, train=0.86, **relu))[0].title == "Looks healthy"
    convolution = dict(units=(None, None, 8, 1), activations=("linear", "", "linear", "linear"))
    assert diagnose(numbers(history, test=0.875, train=0.86, **convolution))[0].title == "Looks healthy"
