"""diagnose: each verdict from the numbers that define it (hand-made histories), then through the CLI on
real runs, including a failed one; `train --from` starts a new run from a saved one."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from nnlearn.cli import app
from nnlearn.diagnose import RunNumbers, _stopping_point, curve_title, diagnose
from tests.conftest import DIVERGES, TINY

runner = CliRunner()


def numbers(history, test=0.9, train=0.95, baseline=0.5, status="finished", metric="accuracy", **settings):
    metrics = {"train": {"loss": history[-1]["loss"] if history else 1.0, metric: train},
               "test": {"loss": 0.3, metric: test}} if status == "finished" else {}
    return RunNumbers(history, metrics, {metric: baseline}, settings.get("epochs", len(history)),
                      settings.get("learning_rate", 0.01), settings.get("normalize", "standard"),
                      settings.get("test_rows", 100), status, run_dir="runs/r",
                      patience=settings.get("patience"), validation_rows=settings.get("validation_rows", 100))


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
    assert verdict.command.endswith("--set fit.early_stopping.monitor=val_loss --set fit.early_stopping.patience=5")


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
    assert verdicts[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=5"


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


def test_early_stopping_is_suggested_only_when_it_would_have_helped_this_run():
    # a plateau at 0.3 (epochs 11-25), then a fall to 0.05 at epoch 35, then a rise to 0.2 at epoch 45
    validation = ([0.5 - 0.02 * n for n in range(11)] + [0.3] * 14 + [0.3 - 0.025 * n for n in range(1, 11)]
                  + [0.05 + 0.015 * n for n in range(1, 11)])
    history = rows([0.5 - 0.011 * n for n in range(45)], validation)
    verdicts = diagnose(numbers(history, test=0.95, train=1.0, baseline=0.5))
    assert kinds(verdicts) == ["high_variance"] and verdicts[0].command is None
    # patience 5 and 10 end on the plateau (keeping epoch 11, 0.3000, worse than 0.2000 at the end); patience 20
    # would not stop before the end
    assert "with patience 5 it would stop at epoch 16 and keep epoch 11: val_loss 0.3000, against 0.2000" \
        in verdicts[0].next_step


def test_early_stopping_keeps_an_epoch_only_if_its_validation_accuracy_is_no_worse_beyond_noise():
    history = [{"epoch": float(n), "loss": 1.0 / n, "val_loss": abs(n - 8) * 0.05 + 0.3,
                "val_accuracy": 0.9 if n == 8 else 0.97} for n in range(1, 31)]
    # 0.9 against 0.97 at the end: 2·sqrt(0.97·0.03/100) = 0.034 of noise, so 0.07 fewer is worse
    worse = diagnose(numbers(history))
    assert kinds(worse) == ["high_variance"] and worse[0].command is None
    # on 20 validation examples the noise is 2·sqrt(0.97·0.03/20) = 0.076: the same gap is within it
    within = diagnose(numbers(history, validation_rows=20))
    assert within[0].command.endswith("fit.early_stopping.patience=5")


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
