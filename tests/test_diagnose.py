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
                      patience=settings.get("patience"), validation_rows=settings.get("validation_rows", 100),
                      initial_loss=settings.get("initial_loss"), activations=settings.get("activations", ()))


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
    assert "in epoch 4, after epoch 3 had ended with a finite loss" in verdicts[0].evidence
    assert "grew sharply at epoch 3 (4 → 40)" in verdicts[0].evidence
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
    assert verdicts[0].command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=10"
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
