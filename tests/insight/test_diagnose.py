"""diagnose: each rule from the numbers that define it (hand-made histories, on both sides of its threshold),
the consistency rules as properties, then real runs: each case a user reported, and the CLI on a failed run.
The scenario corpus (tests/scenarios) checks the rules on runs whose truth is known by construction."""

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnlearn.insight.diagnose import CURVE_TITLES, RULES, curve_title, diagnose
from nnlearn.insight.remedies import _stopping_point
from nnlearn.insight.run_numbers import RunNumbers
from nnlearn.runs.rundir import RunDir
from nnlearn.training.train import Silent
from tests.conftest import CONFIGS, DIVERGES, ROOT, TINY, edited, invoke


def numbers(history, test=0.9, train=0.95, baseline=0.5, status="finished", metric="accuracy", **settings):
    """A run's numbers; settings name RunNumbers fields (epochs for epochs_planned); validation, train_loss
    and validation_loss are the saved evaluation's (metrics.json), the validation score as `metric`."""
    validation = settings.pop("validation", None)
    metrics = {}
    if status == "finished":
        metrics = {"train": {"loss": settings.pop("train_loss", history[-1]["loss"] if history else 1.0),
                             metric: train},
                   "test": {"loss": 0.3, metric: test}}
        validation_loss = settings.pop("validation_loss", history[-1].get("val_loss") if history else None)
        if validation is not None or validation_loss is not None:
            metrics["validation"] = {"loss": validation_loss, metric: validation}
    defaults = {"epochs_planned": settings.pop("epochs", len(history)), "learning_rate": 0.01,
                "normalize": "standard", "test_rows": 100, "validation_rows": 100, "run_dir": "runs/r",
                "initial_loss": math.log(2)}
    known = {field.name for field in dataclasses.fields(RunNumbers)}
    return RunNumbers(history, metrics, {metric: baseline}, status=status,
                      **{name: value for name, value in {**defaults, **settings}.items() if name in known})


def rows(losses, val_losses=None, **columns):
    """History rows from lists of numbers, epochs counted from 1."""
    val_losses = val_losses if val_losses is not None else [None] * len(losses)
    return [{"epoch": float(number), "loss": loss, **({"val_loss": val} if val is not None else {}),
             **{name: values[number - 1] for name, values in columns.items()}}
            for number, (loss, val) in enumerate(zip(losses, val_losses), start=1)]


def settled(epochs=40, end=0.2, val_end=0.22):
    """A loss that fell from the untrained ln 2 and has settled: flat over its last half."""
    fall = np.linspace(math.log(2), end, epochs // 2).tolist()
    val_fall = np.linspace(math.log(2), val_end, epochs // 2).tolist()
    return rows(fall + [end] * (epochs - epochs // 2), val_fall + [val_end] * (epochs - epochs // 2))


def kind(verdicts):
    [verdict] = verdicts
    return verdict.kind


# --- the rules, each one sentence ------------------------------------------------------------------------

def test_the_rules_are_six_sentences_and_the_readme_states_each_one():
    assert list(RULES) == ["diverged", "still_improving", "learned_nothing", "high_bias", "high_variance",
                           "healthy"]
    readme = " ".join((ROOT / "README.md").read_text().split())
    for rule in RULES.values():
        assert rule.count(". ") == 0 and rule.endswith(".")  # one sentence
        assert rule in readme, rule


# --- diverged --------------------------------------------------------------------------------------------

def test_a_nan_loss_is_diverged_and_named_where_it_happened():
    history = rows([0.6, 0.5, 40.0])
    [verdict] = diagnose(numbers(history, status="failed", learning_rate=0.05,
                                 failure={"reason": "nan", "epoch": 4, "batch": 7}))
    assert verdict.kind == "diverged" and verdict.title == "Diverged: the loss blew up"
    assert "in epoch 4, batch 7, after epoch 3 had ended with a finite loss (40)" in verdict.evidence
    # 40 is above twice the 0.6931 an untrained model starts from: where it first rose, not where it failed
    assert "it first rose above twice its start in epoch 3 (40)" in verdict.evidence
    assert verdict.command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.005"


def test_a_run_that_failed_for_another_reason_than_a_nan_is_not_called_diverged():
    history = rows([0.6, 0.5, 0.45], [0.6, 0.5, 0.45])
    assert kind(diagnose(numbers(history, status="failed", failure={"reason": "error"}))) == "still_improving"
    # a run saved before failures were recorded: a failed one is one whose loss became NaN
    assert kind(diagnose(numbers(history, status="failed"))) == "diverged"


def test_diverged_names_the_epoch_the_loss_first_blew_up_not_the_epoch_it_peaked():
    # diabetes, sgd at rate 1: 7.3e13 from epoch 1 on, its peak 8.832e13 in epoch 33
    losses = [7.29e13] + [8.83e13] * 31 + [8.832e13] + [8.83e13] * 7
    [verdict] = diagnose(numbers(rows(losses), metric="r2", test=-1.6e10, train=-1.5e10, baseline=-0.013,
                                 learning_rate=1.0, optimizer="sgd", initial_loss=28870.0))
    assert verdict.kind == "diverged"
    assert "first rose above twice its start in epoch 1 (7.29e+13)" in verdict.evidence
    assert "epoch 33" not in verdict.evidence


def test_a_loss_that_ends_above_twice_its_start_is_diverged_and_just_under_it_is_not():
    start = 0.9  # measured before training: a random start above ln 2
    above = rows([5.0, 3.0, 2.0, 1.81])
    [verdict] = diagnose(numbers(above, test=0.6, train=0.6, loss_before_training=start, learning_rate=50.0))
    assert verdict.kind == "diverged" and "ended at 1.81, 2.01 times the 0.9 it started from" in verdict.evidence
    under = rows([5.0, 3.0, 2.0, 1.79])
    assert kind(diagnose(numbers(under, test=0.6, train=0.6, loss_before_training=start))) != "diverged"


def test_a_random_start_above_the_untrained_loss_that_falls_is_not_diverged():
    # configs/logistic_regression.yaml at 4 epochs and rate 0.0003: 1.413 → 1.299 from a start above ln 2
    history = rows([1.413, 1.374, 1.336, 1.299], [1.38, 1.343, 1.306, 1.27])
    [verdict] = diagnose(numbers(history, test=0.1491, train=0.1281, baseline=0.6316, test_rows=114,
                                 learning_rate=0.0003, loss_before_training=1.45))
    assert verdict.kind == "still_improving"
    assert "worse than no learning" in verdict.evidence and "it has not finished learning" in verdict.evidence
    assert verdict.command == "nnlearn train --from runs/r --set fit.epochs=8"  # never a lower rate
    assert "learning_rate" not in verdict.command and "lower" not in verdict.next_step


def test_a_divergence_names_an_unscaled_target_and_unscaled_features_before_the_rate():
    history = rows([7.29e13, 8.83e13])
    target = diagnose(numbers(history, metric="r2", test=-1e10, train=-1e10, baseline=0.0, optimizer="sgd",
                              learning_rate=1.0, unscaled_target_loss=28870.0))[0]
    assert "the target is not scaled: an untrained model's squared error is mean(y²) = 2.887e+04" \
        in target.next_step
    assert target.command == ("nnlearn train --from runs/r --set data.standardize_target=true --set "
                              "compile.optimizer.learning_rate=0.01")
    large = diagnose(numbers(history, optimizer="sgd", learning_rate=0.005, feature_sizes=(0.5, 250.0)))[0]
    assert "their sizes go from 0.5 to 250" in large.next_step and "steps along the largest" in large.next_step
    assert large.command == "nnlearn train --from runs/r --set data.normalize=standard"  # 0.005 is not the cause
    tiny = diagnose(numbers(history, optimizer="sgd", learning_rate=100.0, unscaled_target_loss=28870.0,
                            feature_sizes=(0.047, 0.049)))[0]
    assert "standardise them too" in tiny.next_step
    assert tiny.command.endswith("--set data.standardize_target=true --set data.normalize=standard --set "
                                 "compile.optimizer.learning_rate=0.01")


def test_a_rate_far_above_the_usual_goes_straight_back_to_it():
    history = rows([5.0])
    for optimizer, usual in (("adam", "0.001"), ("sgd", "0.01")):
        [verdict] = diagnose(numbers(history, status="failed", learning_rate=5, optimizer=optimizer))
        assert verdict.command.endswith(f"learning_rate={usual}") and "far above" in verdict.next_step
    # sgd at 0.5 is not far above its usual 0.01 (under 100 times): tenfold
    [near] = diagnose(numbers(history, status="failed", learning_rate=0.5, optimizer="sgd"))
    assert near.command.endswith("learning_rate=0.05")


def test_a_first_epoch_that_blew_up_is_told_batch_by_batch():
    [verdict] = diagnose(numbers([], status="failed", learning_rate=100.0, optimizer="sgd",
                                 batch_losses=[23389.8, 1.2e13, 4.9e17, float("inf")], loss_before_training=28620.0,
                                 failure={"reason": "nan", "epoch": 1, "batch": 4}))
    assert "in epoch 1, batch 4, before the first epoch ended" in verdict.evidence
    assert "batch by batch in epoch 1, it first rose above twice its start (2.862e+04) at batch 2" \
        in verdict.evidence


# --- still improving -------------------------------------------------------------------------------------

def test_still_improving_needs_a_fall_of_more_than_one_percent_of_the_untrained_loss_to_a_new_low():
    start = math.log(2)
    base = [0.5] * 8  # 10 epochs: a tenth is the last one, against the one before

    def last_two(before, after):
        return numbers(rows([0.4] * 10, base + [before, after]), test=0.9, train=0.95)

    fell = diagnose(last_two(0.45, 0.45 - 0.011 * start))[0]  # a fall of 1.1% of ln 2, to a new low
    assert fell.kind == "still_improving" and fell.command == "nnlearn train --from runs/r --set fit.epochs=20"
    assert "1.1% of the 0.6931 an untrained model starts from" in fell.evidence
    assert kind(diagnose(last_two(0.45, 0.45 - 0.009 * start))) == "healthy"  # 0.9%: settled
    # a larger fall that does not reach a new low (below every earlier epoch) is a wander, not a fall
    wander = rows([0.4] * 10, [0.3] + base[1:] + [0.45, 0.4])
    assert kind(diagnose(numbers(wander))) == "healthy"


def test_the_tenth_is_at_least_one_epoch_and_one_epoch_is_too_few_to_tell():
    three = rows([0.6, 0.5, 0.45], [0.6, 0.5, 0.45])  # a tenth of 3 epochs: the last one, against the one before
    assert diagnose(numbers(three))[0].evidence.startswith("the validation loss averaged 0.45 over the last epoch")
    [one] = diagnose(numbers(three[:1]))
    assert one.kind == "still_improving" and one.title.startswith("Too few epochs to tell")
    [none] = diagnose(numbers([], status="interrupted", epochs=40))
    assert none.kind == "still_improving" and "interrupted before the first epoch ended" in none.evidence


def test_still_improving_at_a_rate_far_too_small_goes_straight_to_the_usual_rate():
    falling = rows(np.linspace(0.69, 0.4, 40).tolist(), np.linspace(0.69, 0.41, 40).tolist())
    [verdict] = diagnose(numbers(falling, learning_rate=1e-5))
    assert verdict.command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.001"
    # a run resumed past its configured epochs (40 trained, 5 configured): twice 40, never fewer
    assert diagnose(numbers(falling, epochs=5))[0].command == "nnlearn train --from runs/r --set fit.epochs=80"


# --- learned nothing -------------------------------------------------------------------------------------

def test_the_noise_test_is_two_sided_and_honest():
    flat = settled()
    # as seen: 0.3333 against 0.6667 on 60 test examples is worse than no learning, not "within the noise"
    [worse] = diagnose(numbers(flat, test=0.3333, train=0.9, baseline=0.6667, test_rows=60))
    assert worse.kind == "learned_nothing" and worse.title == "Learned nothing: worse than no learning"
    assert "worse than no learning, by more than the noise of 60 test examples (±0.122" in worse.evidence
    noise = 2 * math.sqrt(0.6667 * 0.3333 / 60)
    for test, state in ((0.6667 - noise + 0.005, "within"), (0.6667 + noise - 0.005, "within"),
                        (0.6667 + noise + 0.005, "better")):
        verdict = diagnose(numbers(flat, test=test, train=0.9, baseline=0.6667, test_rows=60))[0]
        assert (verdict.kind == "learned_nothing") == (state == "within"), (test, verdict)
        if state == "within":
            assert "within the noise of 60 test examples (±0.122" in verdict.evidence
    r2 = diagnose(numbers(flat, metric="r2", test=-0.2, train=0.9, baseline=0.0))[0]
    assert r2.title == "Learned nothing: worse than no learning" and "by more than 0.05" in r2.evidence


def test_learning_nothing_names_its_likely_cause_from_the_runs_own_numbers():
    flat = rows([0.6932] * 30, [0.6931] * 30)
    same = {"test": 0.5, "baseline": 0.5}
    memorised = diagnose(numbers(settled(), train=1.0, **same))[0]
    assert "it memorised them" in memorised.next_step and "were not shuffled" in memorised.next_step
    bottleneck = diagnose(numbers(flat, train=0.5, units=(1, 1), activations=("relu", "linear"), **same))[0]
    assert bottleneck.command == "nnlearn train --from runs/r --set 'model.layers[0].units=16'"
    unscaled = diagnose(numbers(flat, train=0.5, normalize="none", feature_sizes=(1.0, 90.0), **same))[0]
    assert unscaled.command == "nnlearn train --from runs/r --set data.normalize=standard"
    stopped = diagnose(numbers(flat, train=0.5, epochs=300, patience=5, **same))[0]
    assert "early stopping ended it at epoch 30 of 300" in stopped.next_step
    # the first steps overshot: 4.157 in epoch 1, 1.8 times ln 10, at Adam 0.5
    overshot = rows([4.157, 2.374, 2.36] + [2.36] * 27, [2.35] * 30)
    verdict = diagnose(numbers(overshot, test=0.1031, train=0.1017, baseline=0.1003, test_rows=359,
                               learning_rate=0.5, initial_loss=math.log(10), activations=("relu", "linear")))[0]
    assert "the loss rose to 4.157 in epoch 1, 1.8 times the 2.303 it started from" in verdict.next_step
    assert "kill every ReLU unit" in verdict.next_step
    assert verdict.command == "nnlearn train --from runs/r --set compile.optimizer.learning_rate=0.001"


# --- high bias -------------------------------------------------------------------------------------------

def test_high_bias_is_a_training_error_above_half_of_no_learnings():
    # no learning gets 50% wrong: high bias above 25% wrong on the training examples
    assert kind(diagnose(numbers(settled(), test=0.74, train=0.74, validation=0.74))) == "high_bias"
    assert kind(diagnose(numbers(settled(), test=0.76, train=0.76, validation=0.76))) == "healthy"
    [verdict] = diagnose(numbers(settled(), test=0.7, train=0.7, validation=0.7, units=(16, 1)))
    assert "gets 30.0% wrong, more than half of the 50.0%" in verdict.evidence
    assert verdict.command == "nnlearn train --from runs/r --set 'model.layers[0].units=32'"
    r2 = diagnose(numbers(settled(), metric="r2", test=0.45, train=0.49, baseline=0.0))[0]
    assert r2.kind == "high_bias" and "51% of what predicting the mean makes" in r2.evidence


def test_high_bias_advice_fits_what_the_model_has():
    def advice(**model):
        return diagnose(numbers(settled(), test=0.7, train=0.7, **model))[0]

    assert advice(units=(1, 1), activations=("relu", "linear")).command.endswith("'model.layers[0].units=16'")
    assert advice(units=(8, 1), activations=("linear", "linear")).command.endswith("'model.layers[0].activation=relu'")
    penalised = advice(units=(8, 1), activations=("relu", "linear"), l2=(0.01, 0.0))
    assert penalised.command.endswith("'model.layers[0].kernel_regularizer.l2=0.001'")
    dropped = advice(units=(8, None, 1), activations=("relu", "", "linear"), dropout=(0.0, 0.4, 0.0))
    assert dropped.command.endswith("'model.layers[1].rate=0.2'")
    alone = advice(units=(1,), activations=("linear",))
    assert alone.command is None and "a hidden layer" in alone.next_step


# --- high variance ---------------------------------------------------------------------------------------

def test_high_variance_is_a_validation_error_well_above_the_training_error_beyond_its_noise():
    def verdict(validation, train=1.0, rows_=180):
        return diagnose(numbers(settled(), test=0.95, train=train, validation=validation, validation_rows=rows_))[0]

    # softmax_digits at 40 epochs: 9 of 180 validation digits wrong, about none of the training ones
    assert verdict(0.95, train=0.9984).kind == "high_variance"
    noise = 2 * math.sqrt(0.05 * 0.95 / 180)
    assert f"±{noise:.3g}" in verdict(0.95, train=0.9984).evidence
    # coffee roasting: 2 of 30 wrong, within the noise of 30 examples
    assert verdict(1 - 2 / 30, train=0.9952, rows_=30).kind == "healthy"
    # beyond the noise but not 1.5 times the training error: not "much larger"
    assert verdict(0.7, train=0.78, rows_=10_000).kind == "healthy"
    regression = diagnose(numbers(settled(), metric="r2", test=0.5, train=0.9, baseline=0.0, train_loss=100.0,
                                  validation_loss=400.0, validation_rows=90))[0]
    assert regression.kind == "high_variance" and "validation squared error 400 against" in regression.evidence


def test_high_variance_advice_never_suggests_what_the_run_already_has():
    history = [{"epoch": float(n), "loss": 1.0 / n, "val_loss": abs(n - 8) * 0.05 + 0.3} for n in range(1, 31)]
    plain = diagnose(numbers(history, validation=0.8, train=1.0))[0]
    # patience 5 replayed on this history: no new best after epoch 8, so it stops at epoch 13 keeping epoch 8
    assert "stop at epoch 13 and keep epoch 8: val_loss 0.3000" in plain.next_step
    assert plain.command.endswith("--set fit.early_stopping.patience=5 --set "
                                  "fit.early_stopping.restore_best_weights=true")
    stopped = diagnose(numbers(history, validation=0.8, train=1.0, patience=5, units=(16, None, 1),
                               activations=("relu", "", "linear"), dropout=(0.0, 0.3, 0.0)))[0]
    assert "early stopping is already on (patience 5)" in stopped.next_step
    assert "more dropout (model.layers[1] drops 0.3 now)" in stopped.next_step
    assert "fit.early_stopping" not in stopped.command


def test_stopping_point_follows_keras_early_stopping():
    assert _stopping_point([1.0, 0.8, 0.9, 0.85, 0.7], 2) == (3, 1)
    assert _stopping_point([1.0, 0.8, 0.7, 0.6], 2) is None


# --- healthy ---------------------------------------------------------------------------------------------

def test_healthy_says_why_it_is_not_overfitting_and_names_losses_far_apart():
    [verdict] = diagnose(numbers(settled(), validation=1 - 2 / 30, train=0.9952, validation_rows=30,
                                 train_loss=0.025, validation_loss=0.113))
    assert verdict.kind == "healthy" and verdict.command == "nnlearn inspect runs/r"
    assert "above it by no more than the noise of 30 validation examples (±0.0911)" in verdict.evidence
    assert "its validation loss is 4.52 times its training loss" in verdict.evidence
    linear = diagnose(numbers(settled(), units=(8, 8, 1), activations=("linear", "linear", "linear")))[0]
    assert linear.title == "Looks healthy for a linear model"
    assert linear.command.endswith("--set 'model.layers[0].activation=relu' --set 'model.layers[1].activation=relu'")


def test_an_unfinished_run_is_judged_by_its_last_epoch():
    history = rows([0.3] * 20, [0.9] * 20, accuracy=[1.0] * 20, val_accuracy=[0.6] * 20)
    [verdict] = diagnose(numbers(history, status="interrupted", validation_rows=100))
    assert verdict.kind == "high_variance" and "(epoch 20 of the history)" in verdict.evidence


def test_every_curve_title_says_the_verdict_and_none_claims_the_curves_fell_together():
    assert set(CURVE_TITLES) == set(RULES)
    for verdict in CURVE_TITLES.values():
        assert "fell together" not in verdict
    assert curve_title(diagnose(numbers(settled(), validation=0.5, train=1.0))) == \
        "Learning curves: validation error well above training error: overfitting (high variance)"


# --- the consistency rules, as properties -----------------------------------------------------------------

RATE = st.floats(0.0, 1.0)


@settings(max_examples=300, deadline=None)
@given(train=RATE, validation=RATE, wider=st.floats(0.0, 0.5), count=st.integers(1, 5000))
def test_a_larger_validation_error_never_looks_healthier(train, validation, wider, count):
    """All else equal, a run whose validation error is larger is high variance whenever the smaller one is."""
    def verdict(error):
        return kind(diagnose(numbers(settled(), test=0.9, train=1 - train, validation=1 - error,
                                     baseline=0.0, validation_rows=count)))

    larger = min(1.0, validation + wider)
    if verdict(validation) == "high_variance":
        assert verdict(larger) == "high_variance"
    if verdict(larger) == "healthy":
        assert verdict(validation) == "healthy"


@settings(max_examples=200, deadline=None)
@given(train=st.floats(0.01, 100.0), validation=st.floats(0.01, 100.0), wider=st.floats(0.0, 100.0),
       count=st.integers(1, 5000))
def test_a_larger_validation_squared_error_never_looks_healthier(train, validation, wider, count):
    def verdict(value):
        return kind(diagnose(numbers(settled(), metric="r2", test=0.9, train=0.95, baseline=0.0, train_loss=train,
                                     validation_loss=value, validation_rows=count)))

    if verdict(validation) == "high_variance":
        assert verdict(validation + wider) == "high_variance"


HISTORIES = st.lists(st.tuples(st.floats(0.01, 3.0), st.floats(0.01, 3.0)), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(pairs=HISTORIES, patience=st.integers(1, 20), restore=st.booleans(),
       monitor=st.sampled_from(["val_loss", "val_accuracy", "loss"]), test=RATE, train=RATE, validation=RATE)
def test_early_stopping_and_resuming_never_change_a_verdict_by_themselves(pairs, patience, restore, monitor, test,
                                                                          train, validation):
    """The verdict comes from the numbers alone: the same numbers with early stopping's settings on or off, or
    as an interrupted run's last epoch (what a resumed run is judged by until it finishes), give one verdict."""
    history = rows([loss for loss, _ in pairs], [val for _, val in pairs],
                   accuracy=[train] * len(pairs), val_accuracy=[validation] * len(pairs))
    plain = numbers(history, test=test, train=train, validation=validation, train_loss=pairs[-1][0],
                    validation_loss=pairs[-1][1])
    stopped = dataclasses.replace(plain, patience=patience, restore_best_weights=restore, monitor=monitor,
                                  epochs_planned=len(history))
    assert kind(diagnose(plain)) == kind(diagnose(stopped))
    # without a test score, an interrupted run and a finished one with the same numbers are judged alike
    finished = dataclasses.replace(plain, metrics={split: plain.metrics[split] for split in ("train", "validation")})
    interrupted = dataclasses.replace(plain, metrics={}, status="interrupted")
    assert kind(diagnose(finished)) == kind(diagnose(interrupted))


def test_a_diagnosis_of_100_000_epochs_reads_each_epoch_a_few_times():
    """Linear in the epochs (one pass per rule): 100,000 epochs of a run that overfits are judged so."""
    epochs = 100_000
    train = np.geomspace(0.7, 1e-4, epochs)
    validation = np.concatenate([np.geomspace(0.7, 0.2, 1000), np.linspace(0.2, 2.0, epochs - 1000)])
    history = [{"epoch": float(number), "loss": float(loss), "val_loss": float(val)}
               for number, (loss, val) in enumerate(zip(train, validation), start=1)]
    reads = []

    class Counted(dict):
        def get(self, key, default=None):
            reads.append(key)
            return super().get(key, default)

        def __getitem__(self, key):
            reads.append(key)
            return super().__getitem__(key)

    history = [Counted(row) for row in history]
    [verdict] = diagnose(numbers(history, validation=0.7, train=1.0, validation_loss=2.0, train_loss=1e-4))
    assert verdict.kind == "high_variance"
    assert len(reads) < 10 * epochs, len(reads)  # a rolling window would read each epoch thousands of times


# --- commands a person pastes ------------------------------------------------------------------------------

def test_a_retrain_command_quotes_what_a_shell_would_expand():
    import shlex

    from nnlearn.insight.run_numbers import retrain

    command = retrain(numbers(settled(), run_dir="my runs/r"), "model.layers[0].units=16", "fit.epochs=6")
    assert command == "nnlearn train --from 'my runs/r' --set 'model.layers[0].units=16' --set fit.epochs=6"
    assert shlex.split(command)[3:] == ["my runs/r", "--set", "model.layers[0].units=16", "--set", "fit.epochs=6"]


# --- real runs: the cases users reported ----------------------------------------------------------------------

@pytest.mark.tensorflow
def test_a_failed_run_is_diagnosed_drawn_reported_and_started_again_never_resumed(write_config, workdir):
    result = invoke("train", str(write_config(DIVERGES)), "--out", "runs/diverged")
    assert result.exit_code == 1 and "Traceback" not in result.output
    # raw diabetes (y ≈ 150) at sgd 100: the target's scale is named, and one command fixes every cause
    fix = ("nnlearn train --from runs/diverged --set data.standardize_target=true --set data.normalize=standard "
           "--set compile.optimizer.learning_rate=0.01")
    assert result.output.count(fix + "\n") == 2, result.output  # the failure's fix and the diagnosis agree
    assert "The learning curves up to the batch whose loss became NaN" in result.output
    diagnosed = json.loads(invoke("diagnose", "runs/diverged", "--json").stdout)["diagnosis"]
    assert [verdict["kind"] for verdict in diagnosed] == ["diverged"]
    assert "before the first epoch ended" in diagnosed[0]["evidence"]
    plotted = invoke("plot", "runs/diverged")
    assert plotted.exit_code == 0 and "learning_curves.png" in plotted.output, plotted.output
    losses = (workdir / "runs/diverged/batch_losses.csv").read_text().splitlines()
    assert losses[0] == "batch,loss" and losses[-1].endswith((",inf", ",nan"))
    report = invoke("report", "runs/diverged", "-o", "diverged.html")
    assert report.exit_code == 0 and "Diverged" in (workdir / "diverged.html").read_text()
    refused = invoke("train", "--resume", "runs/diverged")
    assert refused.exit_code == 2 and "to the same NaN" in refused.output
    assert "nnlearn diagnose runs/diverged" in refused.output
    again = invoke("train", *fix.split()[2:], "--out", "runs/again", "--no-plots", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["diagnosis"][0]["kind"] != "diverged"


@pytest.mark.tensorflow
def test_a_failed_first_epochs_batch_losses_are_in_the_targets_units_like_its_other_losses(write_config, workdir):
    """With data.standardize_target the model learns y in standard units; every loss the run records is in y's
    own (about std² = 5,900 times larger for diabetes), the replayed batches' too."""
    text = edited(DIVERGES, ("normalize: none}", "normalize: none, standardize_target: true}"))
    result = invoke("train", str(write_config(text)), "--out", "runs/diverged", "--no-plots")
    assert result.exit_code == 1, result.output
    first_batch = float((workdir / "runs/diverged/batch_losses.csv").read_text().splitlines()[1].split(",")[1])
    before = json.loads((workdir / "runs/diverged/run.json").read_text())["loss_before_training"]
    assert 0.2 < first_batch / before < 5  # one batch of 32 against the whole training split, both untrained


@pytest.mark.tensorflow
def test_sgd_at_rate_1_on_diabetes_is_told_the_targets_scale_and_the_advice_converges(workdir):
    """As seen: rate advice 1 → 0.1 → 0.01 → 0.001 that never named the target; "8.8e13 in epoch 33"."""
    settings_ = ["compile.optimizer.type=sgd", "compile.optimizer.learning_rate=1"]
    trained = invoke("train", CONFIGS / "mlp_regression.yaml", *sum([["--set", s] for s in settings_],
                                  []), "--out", "runs/rate1", "--no-plots", "--json")
    [verdict] = json.loads(trained.stdout)["diagnosis"]
    assert verdict["kind"] == "diverged" and "the target is not scaled" in verdict["next_step"]
    assert "it first rose above twice its start in epoch 1 " in verdict["evidence"]
    assert verdict["command"] == ("nnlearn train --from runs/rate1 --set data.standardize_target=true "
                                  "--set compile.optimizer.learning_rate=0.01")
    again = invoke(*verdict["command"].split()[1:], "--out", "runs/scaled", "--no-plots", "--json")
    followed = json.loads(again.stdout)
    assert followed["diagnosis"][0]["kind"] == "healthy", followed["diagnosis"]
    assert followed["metrics"]["test"]["r2"] > 0.35


@pytest.mark.tensorflow
def test_logistic_regression_barely_started_is_still_improving_and_keeps_its_rate(workdir):
    """As seen: 4 epochs at 0.0003 were "learned nothing … the loss blew up … lower the rate tenfold"."""
    result = invoke("train", CONFIGS / "logistic_regression.yaml", "--set", "fit.epochs=4", "--set",
                    "compile.optimizer.learning_rate=0.0003", "--no-plots", "--json")
    [verdict] = json.loads(result.stdout)["diagnosis"]
    assert verdict["kind"] == "still_improving", verdict
    assert "worse than no learning" in verdict["evidence"] and "blew up" not in verdict["next_step"]
    assert verdict["command"].endswith("--set fit.epochs=8")


@pytest.mark.tensorflow
@pytest.mark.slow
def test_softmax_digits_overfits_with_and_without_early_stopping(workdir):
    """As seen: 40 epochs (validation loss 7.7 times the training loss) was "healthy", and the same config
    with early stopping (2.6 times) "high variance". Both miss 9 of 180 validation digits, and about none of
    the training ones: high variance, both."""
    from nnlearn.insight.diagnose import diagnose_run
    from nnlearn.training.train import train

    plain = train(CONFIGS / "softmax_digits.yaml", out="runs/plain")
    stopped = train(CONFIGS / "softmax_digits.yaml", ["fit.early_stopping.patience=5",
                                                      "fit.early_stopping.restore_best_weights=true"], out="runs/stop")
    assert stopped.epochs < plain.epochs
    assert [verdict.kind for verdict in diagnose_run(RunDir.open(plain.run_dir), plain.prepared)] == ["high_variance"]
    [after] = diagnose_run(RunDir.open(stopped.run_dir), stopped.prepared)
    assert after.kind == "high_variance" and "early stopping is already on" in after.next_step


class StopAt(Silent):
    """A progress reporter that presses Ctrl-C when an epoch ends."""

    def __init__(self, epoch):
        self.at = epoch

    def epoch(self, number, logs):
        if number == self.at:
            raise KeyboardInterrupt

    def finish(self): ...


@pytest.mark.tensorflow
@pytest.mark.slow
def test_coffee_interrupted_then_resumed_is_judged_by_the_same_rules(workdir):
    """As seen: interrupted at epoch 1210 "high variance", resumed to 3000 "healthy", although the gap grew.
    Now an interrupted run is judged by its last epoch with the same rules, and a resumed one is the run an
    uninterrupted one would be."""
    from nnlearn.errors import Interrupted
    from nnlearn.insight.diagnose import diagnose_run
    from nnlearn.training.train import resume, train

    coffee = CONFIGS / "coffee_roasting.yaml"
    with pytest.raises(Interrupted):
        train(coffee, ["fit.epochs=1000"], out="runs/cut", progress=StopAt(400))
    [interrupted] = diagnose_run(RunDir.open("runs/cut"))
    resumed = resume(RunDir.open("runs/cut"))
    whole = train(coffee, ["fit.epochs=1000"], out="runs/whole")
    short = train(coffee, ["fit.epochs=400"], out="runs/short")
    [after] = diagnose_run(RunDir.open(resumed.run_dir))
    [uninterrupted] = diagnose_run(RunDir.open(whole.run_dir), whole.prepared)
    assert (after.kind, after.title, after.evidence) == (uninterrupted.kind, uninterrupted.title,
                                                         uninterrupted.evidence)
    assert interrupted.kind == diagnose_run(RunDir.open(short.run_dir), short.prepared)[0].kind


@pytest.mark.tensorflow
def test_inspect_never_advises_what_the_config_already_has(workdir):
    """As seen: inspect on the shipped coffee config (standardised features) advised standardised features."""
    trained = invoke("train", CONFIGS / "coffee_roasting.yaml", "--out", "runs/coffee", "--no-plots")
    assert trained.exit_code == 0, trained.output
    inspected = invoke("inspect", "runs/coffee")
    assert inspected.exit_code == 0, inspected.output
    assert "data.normalize: standard" not in inspected.output
    from nnlearn.insight.inside import _saturated_fix
    from nnlearn.insight.run_numbers import RunNumbers  # noqa: F401 (the config is what matters)
    from nnlearn.runs.rundir import RunDir

    config = RunDir("runs/coffee").config()
    assert "standardised features" not in _saturated_fix(config)
    config.data.normalize = "none"
    assert "standardised features (data.normalize: standard, now none)" in _saturated_fix(config)


@pytest.mark.tensorflow
def test_train_and_diagnose_give_the_same_verdict(write_config, workdir):
    trained = invoke("train", str(write_config(TINY)), "--out", "runs/same", "--no-plots", "--json")
    assert trained.exit_code == 0, trained.output
    diagnosed = invoke("diagnose", "runs/same", "--json")
    assert diagnosed.exit_code == 0, diagnosed.output
    verdicts = json.loads(trained.stdout)["diagnosis"]
    assert len(verdicts) == 1 and verdicts == json.loads(diagnosed.stdout)["diagnosis"]


@pytest.mark.tensorflow
def test_from_with_weights_starts_where_the_saved_run_stopped(write_config, workdir):
    from nnlearn.model.saved_model import load_saved_model
    from nnlearn.runs.checkpoint import load_checkpoint

    first = invoke("train", str(write_config(TINY)), "--out", "runs/first", "--no-plots")
    assert first.exit_code == 0, first.output
    saved = load_checkpoint(RunDir.open(workdir / "runs/first"))["variables"]
    # a learning rate of 0 keeps the weights where they start: exactly the saved run's
    second = invoke("train", "--from", "runs/first", "--weights", "--set", "compile.optimizer.type=sgd", "--set",
                    "compile.optimizer.learning_rate=1e-12", "--set", "fit.epochs=1", "--out", "runs/second",
                    "--no-plots")
    assert second.exit_code == 0, second.output
    weights = load_saved_model(workdir / "runs/second/model.keras").get_weights()
    kernels = [saved[key] for key in sorted((k for k in saved if k.startswith("model_")),
                                            key=lambda k: int(k.rsplit("_", 1)[1]))][:len(weights)]
    for array, expected in zip(weights, kernels):
        assert np.allclose(array, expected, atol=1e-6)
    fresh = invoke("train", "--from", "runs/first", "--set", "fit.epochs=1", "--set",
                   "compile.optimizer.learning_rate=1e-12", "--set", "compile.optimizer.type=sgd", "--out",
                   "runs/fresh", "--no-plots")
    assert fresh.exit_code == 0, fresh.output
    fresh_weights = load_saved_model(workdir / "runs/fresh/model.keras").get_weights()
    assert not np.allclose(fresh_weights[0], weights[0])  # without --weights: fresh initial weights
    mismatch = invoke("train", "--from", "runs/first", "--weights", "--set", "model.layers[0].units=5")
    assert mismatch.exit_code == 2 and "do not fit the new model" in mismatch.output
    lonely = invoke("train", str(write_config(TINY)), "--weights")
    assert lonely.exit_code == 2 and "--from" in lonely.output
