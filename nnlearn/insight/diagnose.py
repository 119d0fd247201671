"""What a run's own numbers say about it, in the course's words: six rules a learner can apply by hand,
tried in the order of RULES; the first that applies is the run's one verdict, with its evidence (the
numbers) and one next step (a command, when one fits).

The numbers are those of the model the run ended with: each split's saved evaluation (metrics.json, dropout
off; with early stopping's restore_best_weights, the kept epoch's weights), or the last epoch of the
history when the run did not finish; the history itself; the loss it started from; the no-learning
scores. The error is 1 − accuracy for a classifier, the squared error (the loss) for a regression. Early
stopping and resuming change which numbers there are, never the rules. Each rule is one pass over the
history, so a diagnosis takes time in proportion to the epochs.

Works from the saved files alone (history, metrics, run.json, the resolved config): no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

from nnlearn.config.learning_rates import usual_rate
from nnlearn.insight.remedies import (
    bias_remedy,
    lower_rate,
    raised_rate,
    variance_remedy,
    what_large_steps_do,
    why_stuck,
)
from nnlearn.insight.run_numbers import (
    RunNumbers,
    Verdict,
    accuracy_noise,
    errors,
    finite,
    key_metric,
    loss_trend,
    retrain,
    squared_error_noise,
    train_longer,
)
from nnlearn.model.divergence import divergence_fix
from nnlearn.runs.rundir import RunDir
from nnlearn.runs.saved_run import prepare_saved_run

# diverged: a last epoch above this many times the loss the run started from
DIVERGED_GROWTH = 2
# still improving: the last tenth of the epochs this share of the untrained loss below the tenth before
STILL_FALLING = 0.01
# learned nothing, for a regression: a test r2 within this of the training mean's (r2 ≈ 0)
NO_LEARNING_R2 = 0.05
# high bias: a training error above this share of the error of no learning
HIGH_BIAS = 0.5
# high variance: a validation error above this many times the training error (and beyond its noise)
HIGH_VARIANCE = 1.5
# a loss this many times its start in the first epochs: the first steps overshot (a cause of learning nothing)
OVERSHOT = 1.5

RULES = {
    "diverged": "Diverged: the training loss became NaN or infinite, or its last epoch ended above twice the "
                "loss it started from (measured before training, else ln K, ln 2 or mean(y²)).",
    "still_improving": "Still improving: over the last tenth of the epochs (at least one), the validation loss "
                       "(the training loss without a validation split) averaged more than 1% of the untrained "
                       "loss below the tenth before, and reached its lowest there.",
    "learned_nothing": "Learned nothing: the test accuracy is within 2 standard errors, 2·√(b(1 − b)/n) for n "
                       "test examples, of the accuracy b of always answering the most common class (a "
                       "regression: the test r2 within 0.05 of predicting the training mean); below that band "
                       "it is worse than no learning.",
    "high_bias": "High bias: on its own training examples the model still makes more than half the error of no "
                 "learning (training accuracy below (1 + b)/2; training r2 below 0.5).",
    "high_variance": "High variance: the validation error is more than 1.5 times the training error, and above "
                     "it by more than 2 standard errors of the validation error (2·√(e(1 − e)/n) for an error "
                     "rate e on n examples; 2·J·√(2/n) for a squared error J).",
    "healthy": "Healthy: none of the above.",
}


def diagnose(numbers: RunNumbers) -> list[Verdict]:
    """The one verdict of the first rule that applies, in a list (as JSON keeps it).

    One verdict, so a run never gets two pieces of advice that pull apart (a lower learning rate and a
    larger one, stop earlier and train longer).
    """
    for rule in (_diverged, _still_improving, _learned_nothing, _high_bias, _high_variance):
        verdict = rule(numbers)
        if verdict:
            return [verdict]
    return [_healthy(numbers)]


# --- diverged -------------------------------------------------------------------------------------------

def _diverged(numbers: RunNumbers) -> Verdict | None:
    losses = [row.get("loss") for row in numbers.history]
    start = numbers.start_loss
    reason = numbers.failure.get("reason")
    if reason == "nan" or (numbers.status == "failed" and not reason) or (losses and not finite(losses[-1])):
        evidence = _where_it_broke(numbers, losses)
    elif losses and start and losses[-1] > DIVERGED_GROWTH * start:
        evidence = (f"the training loss ended at {losses[-1]:.4g}, {losses[-1] / start:.3g} times the "
                    f"{start:.4g} {_start_words(numbers)}")
    else:
        return None
    evidence += _first_blow_up(numbers, losses, start)
    advice, command = divergence_fix(numbers.learning_rate, numbers.optimizer, numbers.feature_sizes,
                                     numbers.unscaled_target_loss, numbers.run_dir)
    return Verdict("diverged", "Diverged: the loss blew up", evidence + ".", advice + ".", command)


def _start_words(numbers: RunNumbers) -> str:
    return ("it started from (measured before training)" if finite(numbers.loss_before_training)
            else "an untrained model starts from")


def _where_it_broke(numbers: RunNumbers, losses: list) -> str:
    """In which epoch (and batch, when recorded) the loss became NaN or infinite."""
    bad = next((index for index, loss in enumerate(losses) if not finite(loss)), None)
    epoch = numbers.failure.get("epoch") or (bad + 1 if bad is not None else len(losses) + 1)
    batch = numbers.failure.get("batch")
    where = f"in epoch {epoch:g}" + (f", batch {batch:g}" if batch else "")
    if epoch == 1:
        return f"the loss became NaN or infinite {where}, before the first epoch ended"
    before = losses[epoch - 2] if epoch - 2 < len(losses) else None
    return (f"the loss became NaN or infinite {where}, after epoch {epoch - 1:g} had ended with a finite loss"
            + (f" ({before:.4g})" if finite(before) else ""))


def _first_blow_up(numbers: RunNumbers, losses: list, start: float | None) -> str:
    """Where the loss first rose above twice its start (or stopped being finite): an epoch, or a batch of a
    first epoch that ended in NaN."""
    if start is None:
        return ""
    limit = DIVERGED_GROWTH * start
    for row, loss in zip(numbers.history, losses):
        if not finite(loss) or loss > limit:
            return f"; it first rose above twice its start in epoch {row['epoch']:g} ({loss:.4g})"
    for number, loss in enumerate(numbers.batch_losses, start=1):
        if not finite(loss) or loss > limit:
            return (f"; batch by batch in epoch 1, it first rose above twice its start ({start:.4g}) at batch "
                    f"{number} ({loss:.4g})")
    if numbers.history and numbers.status == "failed":
        return f"; every epoch before stayed below twice its start ({start:.4g}): it blew up inside one epoch"
    return ""


# --- still improving -------------------------------------------------------------------------------------

def _still_improving(numbers: RunNumbers) -> Verdict | None:
    if len(numbers.history) < 2:
        return _too_few_epochs(numbers)
    trend = loss_trend(numbers)
    if trend is None or not (trend.fell > STILL_FALLING and trend.lowest_in_last_tenth):
        return None
    window = f"last {trend.window} epochs" if trend.window > 1 else "last epoch"
    evidence = (f"the {trend.name} loss averaged {trend.after:.4g} over the {window}, against {trend.before:.4g} "
                f"before: {trend.fell:.1%} of the {trend.scale:.4g} an untrained model starts from, and its lowest "
                "yet")
    standing = _against_no_learning(numbers)
    if standing and standing.state != "better":  # not learned yet, because it has barely started
        evidence += (f"; so far {standing.evidence}, since it has not finished learning (it started from random "
                     "weights)")
    raised, usual = raised_rate(numbers), usual_rate(numbers.optimizer)
    if raised:  # each epoch moves it little: more of them would take long, a usual rate gets there
        return Verdict("still_improving", "Still improving: slowly, at a learning rate far below the usual",
                       f"{evidence}; the learning rate is {numbers.learning_rate:g}, under a tenth of the usual "
                       f"{usual:g}.", f"start again from the usual {usual:g}, rather than raising it tenfold run "
                                      "after run (or train for many more epochs).",
                       retrain(numbers, f"compile.optimizer.learning_rate={raised:g}"))
    return Verdict("still_improving", "Still improving: train longer", evidence + ".",
                   "train for more epochs (the learning rate is not the problem: keep it), then judge again.",
                   train_longer(numbers))


def _too_few_epochs(numbers: RunNumbers) -> Verdict:
    """No epoch, or one: there is no trend to judge yet."""
    if numbers.history:
        loss = numbers.history[0].get("loss")
        return Verdict("still_improving", "Too few epochs to tell: train longer",
                       f"one epoch shows where the loss is ({loss:.4g}), not whether it is still falling.",
                       "train for more epochs to see where the loss settles.", train_longer(numbers))
    why = {"interrupted": "it was interrupted before the first epoch ended",
           "running": "it is still in its first epoch"}.get(numbers.status, "its history.csv is empty or missing")
    return Verdict("still_improving", "Too few epochs to tell",
                   f"no epoch is recorded ({why}), so there is no loss to judge.",
                   "train it again and let at least one epoch finish (a few, to see where the loss goes), then "
                   "diagnose that run.", retrain(numbers))


# --- learned nothing --------------------------------------------------------------------------------------

@dataclass
class Standing:
    """The test score against no learning's: better, the same (within the margin) or worse."""

    metric: str
    test: float
    baseline: float
    margin: float
    state: str  # better, same or worse
    evidence: str


def _against_no_learning(numbers: RunNumbers) -> Standing | None:
    metric = key_metric(numbers.metrics)
    test = (numbers.metrics.get("test") or {}).get(metric) if metric else None
    baseline = numbers.baseline.get(metric) if metric else None
    if not (finite(test) and finite(baseline)):
        return None
    if metric == "accuracy":
        margin = accuracy_noise(baseline, numbers.test_rows)
        said = f"test accuracy {test:.4f} against {baseline:.4f} for always answering the most common class"
        band = f"the noise of {numbers.test_rows} test examples (±{margin:.3f}, 2 standard errors)"
    else:
        margin = NO_LEARNING_R2
        said = f"test r2 {test:.4f} against {baseline:.4f} for predicting the training mean"
        band = f"{margin:g}"
    if test - baseline > margin:
        return Standing(metric, test, baseline, margin, "better", said)
    if test - baseline < -margin:
        return Standing(metric, test, baseline, margin, "worse",
                        f"{said}: worse than no learning, by more than {band}")
    return Standing(metric, test, baseline, margin, "same", f"{said}: within {band}")


def _learned_nothing(numbers: RunNumbers) -> Verdict | None:
    standing = _against_no_learning(numbers)
    if standing is None or standing.state == "better":
        return None
    cause, command = _why_nothing(numbers, standing)
    title = "Learned nothing: worse than no learning" if standing.state == "worse" else "Learned nothing"
    return Verdict("learned_nothing", title, standing.evidence + ".", f"likely cause: {cause}.", command)


def _why_nothing(numbers: RunNumbers, standing: Standing) -> tuple[str, str | None]:
    """The likely cause, checked in order: early stopping ended it, the first steps overshot, nothing was
    learned even on the training examples (unscaled features, a bottleneck, dead units, a rate too small),
    or what it learned on them does not carry over to new ones."""
    losses = [row["loss"] for row in numbers.history if finite(row.get("loss"))]
    start = numbers.start_loss
    if numbers.patience is not None and len(numbers.history) < numbers.epochs_planned:
        return (f"early stopping ended it at epoch {len(numbers.history)} of {numbers.epochs_planned}, on a "
                f"plateau it might have left. Give it more patience (now {numbers.patience})",
                retrain(numbers, f"fit.early_stopping.patience={max(20, 4 * numbers.patience)}"))
    high = max(losses[:3], default=None)
    if high is not None and start and high > OVERSHOT * start and numbers.learning_rate > usual_rate(numbers.optimizer):
        advice, command = lower_rate(numbers)
        epoch = losses.index(high) + 1
        return (f"the first steps overshot: the loss rose to {high:.4g} in epoch {epoch}, {high / start:.2g} times "
                f"the {start:.4g} it started from, and {what_large_steps_do(numbers.activations)}, leaving a model "
                f"that answers the same whatever x. {advice[0].upper()}{advice[1:]}", command)
    train = _train_score(numbers, standing.metric)
    if not finite(train) or train - standing.baseline <= standing.margin:
        if numbers.feature_sizes is not None:
            smallest, largest = numbers.feature_sizes
            return ("it learned nothing even on its training examples, and its features are not scaled "
                    f"(data.normalize: none; their sizes go from {smallest:.3g} to {largest:.3g}): "
                    "features far from size 1 make gradient descent crawl along some directions and overshoot "
                    "along others. Standardise them", retrain(numbers, "data.normalize=standard"))
        return why_stuck(numbers, losses) if losses else ("no epoch to judge", None)
    return (f"on its own training examples it scores {standing.metric} {train:.4f}, far better than no learning, "
            "but that does not carry over to new ones: it memorised them. The labels may not follow from these "
            "features (check that they belong to their rows, e.g. were not shuffled apart from them)"
            + ("; and where the labels do not follow from x, any answer other than the most common class does "
               "worse than always giving it" if standing.state == "worse" else ""), None)


def _train_score(numbers: RunNumbers, metric: str) -> float | None:
    """The training accuracy or r2 of the model the run ended with (saved evaluation, else last epoch)."""
    if numbers.finished and numbers.metrics:
        return (numbers.metrics.get("train") or {}).get(metric)
    return numbers.history[-1].get(metric) if numbers.history else None


# --- high bias --------------------------------------------------------------------------------------------

def _high_bias(numbers: RunNumbers) -> Verdict | None:
    found = errors(numbers)
    metric = "accuracy" if found is not None and found.name == "error" else "r2"
    train = _train_score(numbers, metric)
    if not finite(train):
        return None
    if metric == "accuracy":
        baseline = numbers.baseline.get("accuracy")
        if not finite(baseline) or baseline >= 1:
            return None
        error, no_learning = 1 - train, 1 - baseline
        if error <= HIGH_BIAS * no_learning:
            return None
        evidence = (f"training accuracy {train:.4f}: on its own training examples it still gets {error:.1%} wrong, "
                    f"more than half of the {no_learning:.1%} that always answering the most common class gets "
                    "wrong")
    else:
        if train >= 1 - HIGH_BIAS:
            return None
        evidence = (f"training r2 {train:.4f}: on its own training examples its squared error is still "
                    f"{1 - train:.0%} of what predicting the mean makes, more than half")
    trend = loss_trend(numbers)
    settled = (f"; the {trend.name} loss has settled (it fell {max(trend.fell, 0):.1%} of the untrained loss over "
               "the last tenth of the epochs), so more epochs alone will not help" if trend else "")
    advice, command = bias_remedy(numbers)
    return Verdict("high_bias", "High bias (underfitting)", evidence + settled + ".",
                   f"the model is too simple for the task: {advice}.", command)


# --- high variance ----------------------------------------------------------------------------------------

def _high_variance(numbers: RunNumbers) -> Verdict | None:
    found = errors(numbers)
    if found is None or found.validation is None or not numbers.validation_rows:
        return None
    noise = (accuracy_noise(found.validation, numbers.validation_rows) if found.name == "error"
             else squared_error_noise(found.validation, numbers.validation_rows))
    if not (found.validation > HIGH_VARIANCE * found.train and found.validation - found.train > noise):
        return None
    times = (f"{found.validation / found.train:.3g} times as large" if found.train > 0
             else "where it has none on its training examples")
    evidence = (f"validation {found.name} {found.validation:.4g} against training {found.name} {found.train:.4g} "
                f"({found.where}): {times}, and above it by more than the noise of {numbers.validation_rows} "
                f"validation examples (±{noise:.3g})")
    advice, command = variance_remedy(numbers)
    return Verdict("high_variance", "High variance (overfitting)", evidence + _losses_apart(numbers) + ".",
                   f"it fits its training examples far better than new ones: {advice}", command)


def _losses_apart(numbers: RunNumbers) -> str:
    """The validation loss against the training loss, when it is more than twice as large."""
    if numbers.finished and numbers.metrics:
        train, validation = ((numbers.metrics.get(split) or {}).get("loss") for split in ("train", "validation"))
    else:
        row = numbers.history[-1] if numbers.history else {}
        train, validation = row.get("loss"), row.get("val_loss")
    if not (finite(train) and finite(validation)) or train <= 0 or validation <= 2 * train:
        return ""
    return (f"; its validation loss is {validation / train:.3g} times its training loss ({validation:.4g} "
            f"against {train:.4g})")


# --- healthy ----------------------------------------------------------------------------------------------

def _healthy(numbers: RunNumbers) -> Verdict:
    standing = _against_no_learning(numbers)
    parts = [standing.evidence if standing else "the loss fell"]
    found = errors(numbers)
    if found is not None and found.validation is not None and numbers.validation_rows:
        parts.append(_errors_close(found, numbers.validation_rows))
        apart = _losses_apart(numbers) if found.name == "error" else ""
        if apart:
            parts.append(apart[2:] + ", as a few confident mistakes weigh heavily in a loss")
    trend = loss_trend(numbers)
    if trend is not None:
        moved = (f"fell {trend.fell:.1%} of the untrained loss over the last tenth of the epochs" if trend.fell > 0
                 else f"did not fall over the last tenth of the epochs (it rose {-trend.fell:.1%} of the "
                      "untrained loss)")
        parts.append(f"the {trend.name} loss {moved}: "
                     + ("not to a new low" if trend.fell > STILL_FALLING else "it has settled"))
    linear = _linear_hidden_layers(numbers)
    if linear:  # healthy for what it is: one linear model, whose boundary cannot bend
        return Verdict("healthy", "Looks healthy for a linear model",
                       "; ".join(parts) + "; but its hidden layers are linear, so the whole network computes one "
                       "linear function of x (a straight boundary, a plane), as one layer would.",
                       "give the hidden layers a nonlinear activation (ReLU), so they can bend the boundary, and "
                       "compare:", retrain(numbers, *(f"model.layers[{index}].activation=relu" for index in linear)))
    return Verdict("healthy", "Looks healthy", "; ".join(parts) + ".",
                   "compare a variation with `nnlearn sweep`, or look at what each layer learned:",
                   f"nnlearn inspect {numbers.run_dir}")


def _errors_close(found, rows: int) -> str:
    """Why the validation error is not high variance: no higher, under 1.5 times, or within the noise."""
    said = f"validation {found.name} {found.validation:.4g} against training {found.name} {found.train:.4g}"
    if found.validation <= found.train:
        return f"{said}: no higher"
    if found.validation <= HIGH_VARIANCE * found.train:
        return f"{said}: under {HIGH_VARIANCE:g} times as large"
    noise = (accuracy_noise(found.validation, rows) if found.name == "error"
             else squared_error_noise(found.validation, rows))
    return f"{said}: above it by no more than the noise of {rows} validation examples (±{noise:.3g})"


def _linear_hidden_layers(numbers: RunNumbers) -> list[int]:
    """The hidden layers' indices when the model is dense layers only and every hidden one is linear; else
    none (no hidden layer, or a layer that bends: an activation, a convolution, a pooling)."""
    before_output = list(range(len(numbers.units) - 1))
    dense_only = all(numbers.units[index] for index in before_output)
    linear = all(index < len(numbers.activations) and numbers.activations[index] in ("linear", "")
                 for index in before_output)
    return before_output if before_output and dense_only and linear else []


# --- shown elsewhere --------------------------------------------------------------------------------------

CURVE_TITLES = {"diverged": "the loss blew up (diverged)",
                "still_improving": "still falling at the end: train longer",
                "learned_nothing": "no better than no learning",
                "high_bias": "the training error stays high: underfitting (high bias)",
                "high_variance": "validation error well above training error: overfitting (high variance)",
                "healthy": "it learned, and its validation error is not well above its training error"}


def curve_title(verdicts: list[Verdict]) -> str:
    """A learning-curve title that says the run's verdict (diagnose's, the same one train prints)."""
    if not verdicts:
        return "Learning curves"
    verdict = verdicts[0]
    if verdict.kind == "learned_nothing" and "worse" in verdict.title:
        return "Learning curves: worse than no learning"
    if verdict.title.startswith("Too few epochs"):
        return "Learning curves: too few epochs to tell"
    return f"Learning curves: {CURVE_TITLES[verdict.kind]}"


def diagnose_run(run_dir: RunDir, prepared=None) -> list[Verdict]:
    """The verdict of a saved run (finished, failed or interrupted), from its files."""
    from nnlearn.model.baselines import (
        baseline_metrics,
        expected_initial_loss,
        unscaled_feature_sizes,
        unscaled_target_loss,
    )

    if prepared is None:
        prepared, _ = prepare_saved_run(run_dir)
    metrics = run_dir.metrics()
    record = run_dir.record(strict=False) if run_dir.has_record() else {}
    baseline = (metrics.get("baseline") or {}).get("test") or baseline_metrics(prepared)
    config = prepared.config
    stopping = config.fit.early_stopping
    train_y = prepared.splits.train.y
    start = (expected_initial_loss(config, prepared.dataset, train_y)[0]
             if train_y is not None and len(train_y) else None)
    history = run_dir.history()
    layers = config.model.layers
    return diagnose(RunNumbers(
        history, metrics, baseline, config.fit.epochs, config.compile.optimizer.learning_rate,
        config.data.normalize, len(prepared.splits.test), str(record.get("status", "unknown")),
        run_dir=str(run_dir), patience=stopping.patience if stopping else None,
        validation_rows=len(prepared.splits.validation or ()), initial_loss=start,
        activations=tuple(getattr(layer, "activation", None) or "" for layer in layers),
        units=tuple(getattr(layer, "units", None) for layer in layers),
        l2=tuple(getattr(getattr(layer, "kernel_regularizer", None), "l2", 0.0) for layer in layers),
        optimizer=config.compile.optimizer.type, monitor=stopping.monitor if stopping else "val_loss",
        min_delta=stopping.min_delta if stopping else 0.0,
        restore_best_weights=bool(stopping and stopping.restore_best_weights),
        loss_before_training=record.get("loss_before_training"),
        dropout=tuple(getattr(layer, "rate", 0.0) if layer.type == "dropout" else 0.0 for layer in layers),
        standardize_target=config.data.standardize_target, unscaled_target_loss=unscaled_target_loss(prepared),
        feature_sizes=unscaled_feature_sizes(prepared),
        batch_losses=[] if history else run_dir.batch_losses(),
        failure=_failure(record)))


def _failure(record: dict) -> dict:
    """run.json's failure, with only the values diagnose can use (a hand-edited file may hold anything)."""
    failure = record.get("failure") if isinstance(record.get("failure"), dict) else {}
    return {key: value for key, value in failure.items()
            if (key == "reason" and isinstance(value, str))
            or (key in ("epoch", "batch") and isinstance(value, int) and not isinstance(value, bool) and value > 0)}
