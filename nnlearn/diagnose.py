"""What a run's own numbers say about it, in the course's words: learned nothing, diverged, still
improving, high bias (underfitting), high variance (overfitting), or healthy. Each verdict names its
evidence and one next step as a command.

Works from the saved files alone (history, metrics, the resolved config): no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from nnlearn.rundir import RunDir

# a loss still falling by more than this share over the last tenth of the epochs: train longer
STILL_IMPROVING = 0.02
# validation loss (averaged over a stretch) this much above its best stretch, beyond its noise: overfitting
OVERFIT_RISE = 0.10
# the validation loss's median over a stretch this much above its lowest stretch median: overfitting even when
# the validation loss jumps (medians ignore the spikes that make a long run's spread large)
OVERFIT_FAR_RISE = 0.5
# a finite loss this many times the loss an untrained model starts from: the steps threw it off (diverged)
DIVERGED_GROWTH = 100
# an epoch whose validation loss is within this share of the lowest is as good as the lowest
NEAR_BEST = 0.05
# a loss in the first epochs this many times what an untrained model starts from: the first steps were too large
EARLY_BLOWUP = 1.5
# the learning rate each optimizer usually starts from (lint's warning says 0.001 for Adam)
USUAL_RATE = {"adam": 0.001, "sgd": 0.01}
# a rate this many times the usual is far above it (for Adam 0.1: where lint's usual range ends)
FAR_ABOVE_USUAL = 100
# a loss that changed by less than this share over the whole run stayed flat
FLAT = 0.01
# a hidden layer this narrow (or narrower than the number of classes) is a bottleneck; widened to at least this
NARROW_UNITS, WIDENED_UNITS = 2, 16
# the L2 penalty suggested for a layer without one (lint calls 0.001 to 0.01 a good start)
FIRST_L2 = 0.001
# the largest L2 penalty suggested (ten times more than this, lint warns that the weights shrink to 0)
LARGEST_L2 = 0.01
# fewer epochs than this cannot hold two 3-epoch stretches: judge the trend from the last epoch alone
FEW_EPOCHS = 6
# the early-stopping patiences tried on a run's own history, smallest first
PATIENCES = (5, 10, 20, 50, 100, 200, 500, 1000)


@dataclass
class Verdict:
    """One finding about a run, with the numbers behind it and what to try next."""

    kind: str  # learned_nothing, diverged, still_improving, high_bias, high_variance, healthy
    title: str
    evidence: str
    next_step: str
    command: str | None = None  # a complete command to try, when one fits

    def to_json(self) -> dict:
        return {"kind": self.kind, "title": self.title, "evidence": self.evidence,
                "next_step": self.next_step, "command": self.command}


@dataclass
class RunNumbers:
    """What diagnose reads: the history rows, the saved metrics and baseline, and a few settings."""

    history: list[dict]
    metrics: dict  # {"train": {...}, "validation": {...} | None, "test": {...}} (may be empty for a failed run)
    baseline: dict  # the test split's no-learning scores
    epochs_planned: int
    learning_rate: float
    normalize: str
    test_rows: int
    status: str = "finished"  # or failed (NaN), interrupted, running
    run_dir: str = "RUN_DIR"
    patience: int | None = None  # fit.early_stopping.patience, None when early stopping is off
    validation_rows: int = 0
    initial_loss: float | None = None  # the loss an untrained model starts from (baselines.expected_initial_loss)
    activations: tuple[str, ...] = ()  # the model's activations, input to output
    units: tuple[int | None, ...] = ()  # each layer's units (None for a layer that is not dense), input to output
    l2: tuple[float, ...] = ()  # each layer's kernel_regularizer.l2 (0 when it has none), input to output
    optimizer: str = "adam"  # compile.optimizer.type
    monitor: str = "val_loss"  # fit.early_stopping.monitor
    min_delta: float = 0.0  # fit.early_stopping.min_delta
    restore_best_weights: bool = False  # fit.early_stopping.restore_best_weights (when early stopping is on)


@dataclass
class Trend:
    """Whether the watched loss (validation when every epoch has one, else training) was still falling."""

    name: str  # validation or training
    falling: bool
    evidence: str  # the numbers, in words, either way
    fell: float = 0.0  # the share it fell by over the last stretch (or the last epoch)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _median(values: list[float]) -> float:
    ordered, middle = sorted(values), len(values) // 2
    return ordered[middle] if len(values) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _window(count: int) -> int:
    return max(3, count // 10)


def _key_metric(metrics: dict) -> str | None:
    test = metrics.get("test") or {}
    return "accuracy" if "accuracy" in test else ("r2" if "r2" in test else None)


def _retrain(numbers: RunNumbers, *settings: str) -> str:
    return f"nnlearn train --from {numbers.run_dir} " + " ".join(f"--set {setting}" for setting in settings)


def _train_longer(numbers: RunNumbers) -> str:
    """Twice the epochs the run was given or went through, whichever is more: never fewer than it had."""
    return _retrain(numbers, f"fit.epochs={2 * max(numbers.epochs_planned, len(numbers.history))}")


def diagnose(numbers: RunNumbers) -> list[Verdict]:
    """The one verdict that best tells the run's story, in a list (as JSON keeps it); 'healthy' when none does.

    The checks go from most to least urgent and the first that applies wins, so a run never gets two
    pieces of advice that pull apart (a lower learning rate and a larger one, stop earlier and train longer).
    """
    kept = _kept_epoch(numbers)
    # with the best epoch's weights brought back, judge those weights, not the epochs after them
    checks = ((_diverged, _learned_nothing, _high_variance, _high_bias, _still_improving) if kept is None
              else (_diverged, _learned_nothing, lambda numbers: _judge_kept(numbers, kept)))
    for check in checks:
        verdict = check(numbers)
        if verdict:
            return [verdict]
    shown = _test_against_no_learning(numbers)
    trend = _trend(numbers)
    if trend and trend.falling:  # still falling, but nothing left to gain on validation (_still_improving said so)
        settled = (f"; {_nothing_to_gain(numbers)}; the {trend.name} loss still fell {trend.fell:.1%} over the "
                   "last stretch, which only makes the answers more confident")
    else:
        settled = f"; {trend.evidence}" if trend else ""
    return [Verdict("healthy", "Looks healthy", f"{shown}; {_no_overfitting(numbers)}{settled}.",
                    "compare a variation with `nnlearn sweep`, or look at what each layer learned:",
                    f"nnlearn inspect {numbers.run_dir}")]


def _test_against_no_learning(numbers: RunNumbers) -> str:
    metric = _key_metric(numbers.metrics)
    test = (numbers.metrics.get("test") or {}).get(metric)
    return (f"test {metric} {test:.4f} against {numbers.baseline.get(metric, float('nan')):.4f} with no learning"
            if metric and _finite(test) else "the loss fell")


def _kept_epoch(numbers: RunNumbers) -> int | None:
    """The epoch (index) whose weights early stopping brought back at the end, as Keras picks it: the last
    that improved the monitored number by more than min_delta. None when the model ends with the last epoch's
    weights anyway (no early stopping, no restore_best_weights, the last epoch was the best, or unfinished)."""
    if numbers.patience is None or not numbers.restore_best_weights or numbers.status != "finished":
        return None
    values = [row.get(numbers.monitor) for row in numbers.history]
    if len(values) < 2 or not all(_finite(value) for value in values):
        return None
    larger = numbers.monitor.endswith(("accuracy", "r2"))  # as training picks the mode
    best, kept = None, 0
    for index, value in enumerate(values):
        if best is None or (value - numbers.min_delta > best if larger else value + numbers.min_delta < best):
            best, kept = value, index
    return kept if kept < len(values) - 1 else None


def _judge_kept(numbers: RunNumbers, kept: int) -> Verdict:
    """The verdict on the weights early stopping kept: overfitting only if it remains at the kept epoch."""
    row, last = numbers.history[kept], numbers.history[-1]
    where = (f"stopped the run at epoch {last['epoch']:g} of {numbers.epochs_planned}"
             if len(numbers.history) < numbers.epochs_planned else "ran to the end")
    how = (f"early stopping on {numbers.monitor} (patience {numbers.patience}) {where} and kept the weights of "
           f"epoch {row['epoch']:g}, its best ({numbers.monitor} {row[numbers.monitor]:.4g})")
    # metrics.json holds the kept weights' evaluation, both splits measured the same way (no dropout)
    train, validation = ((numbers.metrics.get(split) or {}).get("loss") for split in ("train", "validation"))
    if not (_finite(train) and _finite(validation)):
        train, validation = row.get("loss"), row.get("val_loss")
    if not (_finite(train) and _finite(validation)):
        verdict = _high_bias(numbers)
        return verdict or Verdict("healthy", "Looks healthy: early stopping kept its best epoch",
                                  f"{_test_against_no_learning(numbers)}; {how}.",
                                  "compare a variation with `nnlearn sweep`, or look at what each layer learned:",
                                  f"nnlearn inspect {numbers.run_dir}")
    losses = f"validation loss {validation:.4g} against training loss {train:.4g} with those weights"
    if _gap(validation, train):
        advice, command = _regularization_advice(numbers)
        return Verdict("high_variance", "High variance: overfitting, even at the epoch early stopping kept",
                       f"{how}; {losses}: even there it fits its training examples far better than new ones "
                       "(half as large again, and by more than 0.05).",
                       "early stopping already brought back its best epoch, so suggesting it again would change "
                       f"nothing; the model itself must memorise less: {advice}", command)
    verdict = _high_bias(numbers)
    if verdict:
        verdict.evidence = f"{verdict.evidence[:-1]}; {how}."
        return verdict
    return Verdict("healthy", "Looks healthy: early stopping kept its best epoch",
                   f"{_test_against_no_learning(numbers)}; {how}; {losses}: no overfitting left at that epoch "
                   "(the epochs after it, where the validation loss rose, were thrown away).",
                   "compare a variation with `nnlearn sweep`, or look at what each layer learned:",
                   f"nnlearn inspect {numbers.run_dir}")


def _hidden_layers(numbers: RunNumbers) -> list[tuple[int, int]]:
    """(index, units) of each dense layer before the output layer."""
    dense = [(index, units) for index, units in enumerate(numbers.units) if units]
    return dense[:-1]


def _regularization_advice(numbers: RunNumbers) -> tuple[str, str | None]:
    """The remedies for overfitting other than early stopping, with an L2 penalty on the widest hidden dense
    layer (the one with the most weights to memorise with) as the command."""
    remedy = "add regularization (L2) or dropout, use a smaller model, or get more data"
    hidden = _hidden_layers(numbers)
    if not hidden:
        return remedy + ".", None
    index, units = max(hidden, key=lambda layer: layer[1])
    now = numbers.l2[index] if index < len(numbers.l2) else 0.0
    value = 10 * now if now else FIRST_L2
    if value > LARGEST_L2:
        return f"{remedy} (model.layers[{index}] already has an L2 penalty of {now:g}).", None
    penalty = f"model.layers[{index}].kernel_regularizer.l2"
    return (f"{remedy}; for example {'a ten times larger' if now else 'an'} L2 penalty on the widest hidden "
            f"layer (model.layers[{index}], {units} units): {penalty}={value:g}"
            + (f", now {now:g}." if now else "."),
            _retrain(numbers, f"{penalty}={value:g}"))


def _no_overfitting(numbers: RunNumbers) -> str:
    """Why a healthy run is not called overfitting, honest about a gap between training and validation loss."""
    rows = [row for row in numbers.history if _finite(row.get("val_loss")) and _finite(row.get("loss"))]
    if len(rows) < 2:
        return "no sign of overfitting or underfitting"
    window = min(_window(len(rows)), len(rows))
    train, validation = (_mean([row[name] for row in rows[-window:]]) for name in ("loss", "val_loss"))
    if not _gap(validation, train):
        return "no sign of overfitting or underfitting"
    return (f"validation loss {validation:.4g} against training loss {train:.4g} at the end (averaged over the "
            f"last {window} epochs): it fits its training examples better than new ones, but the validation loss "
            "has not risen clearly above its best stretch, so it is not overfitting yet")


def _gap(validation: float, train: float) -> bool:
    """A validation loss clearly above the training loss: half as large again, and by more than 0.05."""
    return validation > 1.5 * train and validation - train > 0.05


def _diverged(numbers: RunNumbers) -> Verdict | None:
    losses = [row.get("loss") for row in numbers.history]
    good = [loss for loss in losses if _finite(loss)]
    known = _finite(numbers.initial_loss) and numbers.initial_loss > 0
    broke = numbers.status == "failed" or bool(losses and not _finite(losses[-1]))
    peak = None
    if broke:
        bad = next((index for index, loss in enumerate(losses) if not _finite(loss)), len(losses))
        epoch = int(numbers.history[bad]["epoch"]) if bad < len(losses) else len(losses) + 1
        evidence = "the loss became NaN or infinite " + (
            "in epoch 1, before the first epoch ended" if epoch == 1
            else f"in epoch {epoch}, after epoch {epoch - 1} had ended with a finite loss")
    else:
        # a finite loss can diverge too: far above where an untrained model starts, and never back below it
        start = numbers.initial_loss if known else (good[0] if good else None)
        if not (start and good and max(good) > DIVERGED_GROWTH * start and good[-1] > start):
            return None
        peak = good.index(max(good))
        source = "an untrained model starts from" if known else "it had after epoch 1"
        evidence = (f"the loss reached {good[peak]:.4g} in epoch {numbers.history[peak]['epoch']:g}, "
                    f"{good[peak] / start:.2g} times the {start:.4g} {source}, and ended at {good[-1]:.4g}, "
                    "still above that")
    # where it first grew sharply, counting from where an untrained model starts when that is known
    series = ([numbers.initial_loss] if known else []) + good
    grew = next((index for index in range(len(series) - 1) if series[index + 1] > series[index] * EARLY_BLOWUP),
                None)
    epoch_index = None if grew is None else grew + (0 if known else 1)  # the index in good of the grown epoch
    if epoch_index is not None and epoch_index != peak:
        before = (f"the {series[grew]:.4g} an untrained model starts from" if known and grew == 0
                  else f"{series[grew]:.4g}")
        evidence += (f"; it first grew sharply at epoch {numbers.history[epoch_index]['epoch']:g} ({before} → "
                     f"{series[grew + 1]:.4g})")
    advice, command = _lower_rate(numbers)
    return Verdict("diverged", "Diverged: the steps were too large", evidence + ".",
                   advice + ("; unscaled features make this more likely (data.normalize: none)"
                             if numbers.normalize == "none" else "") + ".", command)


def _lower_rate(numbers: RunNumbers) -> tuple[str, str]:
    """How to lower a learning rate that made the steps too large, and the command: straight back to the
    optimizer's usual rate when it is far above it (tenfold at a time would take run after run), else tenfold."""
    rate, usual = numbers.learning_rate, USUAL_RATE.get(numbers.optimizer, USUAL_RATE["adam"])
    name = "Adam" if numbers.optimizer == "adam" else "plain gradient descent (sgd)"
    if rate > FAR_ABOVE_USUAL * usual:
        warned = ", as the config's warning says," if numbers.optimizer == "adam" else ""  # lint warns for Adam
        return (f"the learning rate ({rate:g}) is far above the usual {usual:g} for {name}: start again from "
                f"{usual:g}{warned} rather than lowering it tenfold run after run",
                _retrain(numbers, f"compile.optimizer.learning_rate={usual:g}"))
    return (f"lower the learning rate (now {rate:g}) about tenfold and start again",
            _retrain(numbers, f"compile.optimizer.learning_rate={rate / 10:g}"))


def _accuracy_noise(baseline: float, rows: int) -> float:
    """Two standard errors of an accuracy near the baseline on this many examples (at least 0.01)."""
    return max(2 * math.sqrt(max(baseline * (1 - baseline), 1e-4) / max(rows, 1)), 0.01)


def _learned_nothing(numbers: RunNumbers) -> Verdict | None:
    metric = _key_metric(numbers.metrics)
    test = (numbers.metrics.get("test") or {}).get(metric) if metric else None
    baseline = numbers.baseline.get(metric) if metric else None
    if not (_finite(test) and _finite(baseline)):
        return None
    if metric == "accuracy":
        noise = _accuracy_noise(baseline, numbers.test_rows)
        if test - baseline > noise:
            return None
        evidence = (f"test accuracy {test:.4f} against {baseline:.4f} for always answering the most common class"
                    f" (within the noise of {numbers.test_rows} test examples, ±{noise:.3f}).")
    else:
        if test > 0.05:
            return None
        evidence = f"test r2 {test:.4f}: no better than predicting the training mean (r2 ≈ 0)."
    losses = [row["loss"] for row in numbers.history if _finite(row.get("loss"))]
    rate = numbers.learning_rate
    start = numbers.initial_loss if _finite(numbers.initial_loss) and numbers.initial_loss > 0 else None
    # far above the loss at its best, or far above where an untrained model starts: the first steps overshot
    blew_up = bool(losses) and (max(losses[:3]) > 10 * min(losses)
                                or (start is not None and max(losses[:3]) > EARLY_BLOWUP * start))
    stopped = numbers.patience is not None and len(numbers.history) < numbers.epochs_planned
    trend = _trend(numbers)
    if trend and trend.falling and not (blew_up or stopped):  # too early to judge: it is still learning
        verdict = _still_improving(numbers)
        if verdict:
            verdict.evidence = f"{evidence[:-1]}, but {verdict.evidence}"
            verdict.next_step = "train for more epochs before judging: the loss is still clearly falling."
            return verdict
    # an epoch whose validation score beat no learning shows the features do carry the answer
    scored = [row for row in numbers.history if _finite(row.get(f"val_{metric}"))]
    best = max(scored, key=lambda row: row[f"val_{metric}"], default=None)
    margin = noise if metric == "accuracy" else 0.05
    learned = best is not None and best[f"val_{metric}"] - baseline > margin
    command = None
    if blew_up:
        high = max(losses[:3])
        against = (f"{high / start:.2g} times the {start:.4g} an untrained model starts from"
                   if start is not None and high > EARLY_BLOWUP * start else f"against {min(losses):.4g} at best")
        advice, command = _lower_rate(numbers)
        cause = (f"the loss blew up early (epoch {losses.index(high) + 1}: {high:.4g}, {against}): the steps were "
                 f"too large, and {_what_large_steps_do(numbers.activations)}, leaving a model that predicts one "
                 f"value. {advice[0].upper()}{advice[1:]}")
    elif numbers.normalize == "none":
        cause = ("the features are not scaled (data.normalize: none): features of very different sizes make "
                 "gradient descent crawl along some directions. Standardise them")
        command = _retrain(numbers, "data.normalize=standard")
    elif stopped:
        cause = (f"early stopping ended it at epoch {len(numbers.history)} of {numbers.epochs_planned}, on a "
                 f"plateau it might have left"
                 + (f" (validation {metric} already reached {best[f'val_{metric}']:.4f} at epoch "
                    f"{best['epoch']:g})" if learned else "")
                 + f". Give it more patience (now {numbers.patience})")
        command = _retrain(numbers, f"fit.early_stopping.patience={max(20, 4 * numbers.patience)}")
    elif losses and losses[-1] > 0.9 * losses[0]:
        cause, command = _why_stuck(numbers, losses)
    elif learned:
        cause = (f"validation {metric} reached {best[f'val_{metric}']:.4f} at epoch {best['epoch']:g}, so the "
                 "features do carry the answer, but the model lost it by the end: try a smaller learning rate "
                 f"(now {rate:g}) or early stopping on val_loss")
    else:
        cause = ("the loss fell but the predictions got no better than no learning. Possibly the model settled "
                 "in a poor minimum (try another seed, or `nnlearn lr-find` on the config), or the labels may "
                 "not follow from these features")
    return Verdict("learned_nothing", "Learned nothing", evidence, f"likely cause: {cause}.", command)


def _narrow_layers(numbers: RunNumbers) -> tuple[list[tuple[int, int]], int | None]:
    """The hidden dense layers narrow enough to be a bottleneck: 1-2 units, or fewer than the classes to tell
    apart; and the number of classes (None for regression)."""
    dense = [units for units in numbers.units if units]
    metric = _key_metric(numbers.metrics)
    classes = (max(dense[-1], 2) if dense and metric == "accuracy" else None)
    return ([(index, units) for index, units in _hidden_layers(numbers)
             if units <= NARROW_UNITS or (classes and units < classes)], classes)


def _why_stuck(numbers: RunNumbers, losses: list[float]) -> tuple[str, str | None]:
    """Why the loss barely moved, and what to try: a bottleneck layer, a rate far too small, dead units."""
    rate, usual = numbers.learning_rate, USUAL_RATE.get(numbers.optimizer, USUAL_RATE["adam"])
    flat = abs(losses[-1] - losses[0]) <= FLAT * losses[0]
    start = numbers.initial_loss if _finite(numbers.initial_loss) else None
    moved = f"the loss {'stayed flat' if flat else 'barely moved'} ({losses[0]:.4g} → {losses[-1]:.4g}"
    moved += (f", where an untrained model starts from {start:.4g})" if start is not None
              and losses[-1] <= start * (1 + NEAR_BEST) else ")")
    hidden_relu = any(numbers.activations[index] == "relu" for index, _ in _hidden_layers(numbers)
                      if index < len(numbers.activations))
    narrow, classes = _narrow_layers(numbers)
    inspect = f"`nnlearn inspect {numbers.run_dir}` shows which units are dead"
    if narrow:
        others = [units for index, units in _hidden_layers(numbers) if (index, units) not in narrow]
        width = max(others) if others else max(WIDENED_UNITS, classes or 0)
        why = ("the width of the widest other hidden layer" if others
               else "wide enough that some units dying leaves others alive"
               + (f", and more than the {classes} classes" if classes and classes > 2 else ""))
        names = " and ".join(f"model.layers[{index}]" for index, _ in narrow)
        sizes = sorted({units for _, units in narrow})
        has = (f"{'have' if len(narrow) > 1 else 'has'} {' or '.join(map(str, sizes))} unit"
               f"{'s' if sizes != [1] else ''}{' each' if len(narrow) > 1 else ''}")
        fewer = (f", fewer than the {classes} classes to tell apart" if classes and classes > 2
                 and max(sizes) < classes else "")
        dies = ("whose ReLU units can all die (z < 0 for every example, so their gradient is 0)" if hidden_relu
                else "too narrow to carry what the output needs")
        them = "them" if len(narrow) > 1 else "it"
        return (f"{moved}: nothing passes through the hidden layers, so only the output's bias learns (the "
                f"class frequencies). {names} {has}{fewer}: a bottleneck {dies}; {inspect}. Widen {them} to "
                f"{width} units ({why}); a larger learning rate would not help",
                _retrain(numbers, *(f"model.layers[{index}].units={width}" for index, _ in narrow)))
    if rate < usual / 10 or (numbers.optimizer == "sgd" and rate < usual and not flat):
        return (f"{moved}: the learning rate (now {rate:g}, against the usual {usual:g}) is likely too small, "
                "or the training too short",
                _retrain(numbers, f"compile.optimizer.learning_rate={min(rate * 10, usual):g}"))
    if flat and not _hidden_layers(numbers):
        return (f"{moved}: the model is stuck where it started; another seed starts from other weights, and "
                "`nnlearn lr-find` on the config shows which learning rates move the loss", None)
    if flat:
        dead = ("its ReLU units are likely dead (z < 0 for every example, gradient 0)" if hidden_relu
                else "its units are likely stuck (saturated or dead)")
        step = (f"with Adam the step size hardly depends on the gradient's size, so a flat loss at learning rate "
                f"{rate:g} is not a small-rate problem" if numbers.optimizer == "adam"
                else f"the learning rate {rate:g} is not far below the usual {usual:g}")
        return (f"{moved}: nothing passes through the hidden layers: {dead}; {step}. {inspect}; another seed "
                "starts from other weights", f"nnlearn inspect {numbers.run_dir}")
    return (f"{moved}: the training was likely too short", _train_longer(numbers))


def _what_large_steps_do(activations: tuple[str, ...]) -> str:
    """What a huge step does to this model's units, in the words of its own activations."""
    if "relu" in activations:
        return "steps that large can kill every ReLU unit (z stays below 0, where its gradient is 0)"
    saturating = [name for name in ("sigmoid", "tanh") if name in activations]
    if saturating:
        return (f"steps that large can push every {' and '.join(saturating)} unit into saturation (z so large "
                "that its output is stuck at an end, where its gradient is almost 0)")
    return "steps that large throw the weights far past the minimum, back and forth"


def _high_bias(numbers: RunNumbers) -> Verdict | None:
    metric = _key_metric(numbers.metrics)
    train = (numbers.metrics.get("train") or {}).get(metric) if metric else None
    baseline = numbers.baseline.get(metric) if metric else None
    if not (_finite(train) and _finite(baseline)):
        return None
    if metric == "accuracy":
        error, no_learning = 1 - train, 1 - baseline
        if no_learning <= 0 or error <= 0.5 * no_learning or error < 0.05:
            return None
        evidence = (f"training accuracy {train:.4f}: the model removed only {1 - error / no_learning:.0%} of the "
                    f"error that no learning makes ({no_learning:.4f}), even on the examples it trained on.")
    else:
        if train >= 0.5:
            return None
        evidence = f"training r2 {train:.4f}: even on its own training examples the fit is poor."
    trend = _trend(numbers)
    if trend and trend.falling:  # underfitting with a loss still falling: more epochs come first
        return Verdict("high_bias", "High bias: underfitting", f"{evidence[:-1]}; {trend.evidence}.",
                       "train longer first; if the training error stays high, the model is too simple: more "
                       "units or layers, less regularization.", _train_longer(numbers))
    return Verdict("high_bias", "High bias: underfitting", evidence + (f" And {trend.evidence}." if trend else ""),
                   "the model is too simple for the task: more units or layers, less regularization (more "
                   "epochs alone will not help a settled loss).", None)


def _stopping_point(losses: list[float], patience: int) -> tuple[int, int] | None:
    """Where Keras' EarlyStopping on these validation losses stops and whose weights it keeps (indices).

    None when it would not stop before the end: the run as it was.
    """
    best, kept, waited = math.inf, 0, 0
    for index, loss in enumerate(losses):
        waited += 1
        if loss < best:
            best, kept, waited = loss, index, 0
        if waited >= patience and index > 0:
            return index, kept
    return None


def _kept_by(losses: list[float], patience: int) -> tuple[int | None, int]:
    """Where early stopping with this patience stops (None: it runs to the end) and whose weights the model
    ends with: the best epoch's, as restore_best_weights brings them back either way (indices)."""
    point = _stopping_point(losses, patience)
    if point is not None:
        return point
    return None, losses.index(min(losses))  # Keras counts only a strictly lower loss as a new best


def _early_stopping_advice(numbers: RunNumbers, rows: list[dict]) -> tuple[str, str | None]:
    """What early stopping would have done on this very history: advice and command only if it helps.

    The same seed replays the same epochs until it stops, so the kept epoch's validation numbers are what
    the suggested run ends with. The patience suggested is the smallest that keeps an epoch whose validation
    loss is within NEAR_BEST of the lowest (a smaller one stops on an earlier, worse dip); it helps when that
    epoch's validation loss is lower than at the end and its validation score (accuracy, r2) no worse beyond
    the noise of the validation examples.
    """
    losses = [row["val_loss"] for row in rows]
    metric = _key_metric(numbers.metrics)
    score, end = f"val_{metric}", rows[-1]
    scored = _finite(end.get(score))
    slack = _accuracy_noise(end[score], numbers.validation_rows) if scored and metric == "accuracy" else 0.0
    lowest = min(losses)

    def shown(stop: int | None, kept: int) -> str:
        where = (f"stop at epoch {rows[stop]['epoch']:g} and keep epoch" if stop is not None
                 else "run to the end and keep epoch")
        return (f"{where} {rows[kept]['epoch']:g}: val_loss {losses[kept]:.4f}"
                + (f", {score} {rows[kept][score]:.4f}" if scored else "")
                + f", against {losses[-1]:.4f}" + (f", {end[score]:.4f}" if scored else "") + " at the end")

    first = None
    for patience in (patience for patience in PATIENCES if patience < len(rows)):
        stop, kept = _kept_by(losses, patience)
        first = first or (patience, shown(stop, kept))
        if losses[kept] <= lowest * (1 + NEAR_BEST):
            if losses[kept] < losses[-1] and (not scored or rows[kept][score] >= end[score] - slack):
                return (f"early stopping would keep epoch {rows[kept]['epoch']:g}, within {NEAR_BEST:.0%} of the "
                        f"lowest validation loss (with patience {patience} and restore_best_weights it would "
                        f"{shown(stop, kept)}); or add regularization (L2) or dropout, use a smaller model, or "
                        "get more data.",
                        _retrain(numbers, "fit.early_stopping.monitor=val_loss",
                                 f"fit.early_stopping.patience={patience}",
                                 "fit.early_stopping.restore_best_weights=true"))
            break  # a larger patience keeps this epoch or the lowest, and helps no more
    remedy, command = _regularization_advice(numbers)
    if first is None:
        return remedy, command
    return (f"{remedy[:-1]}. Early stopping would not help this run: with patience {first[0]} it would "
            f"{first[1]}.", command)


def _high_variance(numbers: RunNumbers) -> Verdict | None:
    rows = [row for row in numbers.history if _finite(row.get("val_loss")) and _finite(row.get("loss"))]
    if len(rows) < 5:
        return None
    window = _window(len(rows))
    losses = [row["val_loss"] for row in rows]
    train = [row["loss"] for row in rows]
    starts = range(len(losses) - window + 1)
    # averages over a stretch, as validation loss on few examples jumps from epoch to epoch
    stretches = [_mean(losses[start:start + window]) for start in starts]
    best_stretch = min(stretches)
    end = stretches[-1]
    spread = math.sqrt(_mean([(loss - end) ** 2 for loss in losses[-window:]]))
    rose = end > best_stretch * (1 + OVERFIT_RISE) and end - best_stretch > 2 * spread
    # medians over a stretch ignore the spikes of a long run; the training loss must have gone on falling
    medians = [_median(losses[start:start + window]) for start in starts]
    low = min(range(len(medians)), key=lambda start: medians[start])
    far = (medians[-1] >= medians[low] * (1 + OVERFIT_FAR_RISE)
           and _median(train[-window:]) < _median(train[low:low + window]))
    if not ((rose or far) and _gap(end, train[-1])):
        return None
    best = min(range(len(rows)), key=lambda index: losses[index])
    started = rows[best]["epoch"]
    evidence = (f"validation loss {end:.4f} against training loss {train[-1]:.4g} at the end (validation "
                f"averaged over the last {window} epochs); the validation loss was lowest at epoch {started:g} "
                f"({losses[best]:.4f}) and rose after it"
                + (f", its {window}-epoch median to {medians[-1] / medians[low]:.1f} times its lowest"
                   f" ({medians[low]:.4f} → {medians[-1]:.4f})" if far and not rose else "")
                + ", while the training loss kept falling.")
    advice, command = _early_stopping_advice(numbers, rows)
    return Verdict("high_variance", "High variance: overfitting", evidence,
                   f"it memorises the training examples from about epoch {started:g}: {advice}", command)


def _trend(numbers: RunNumbers) -> Trend | None:
    """The watched loss's trend at the end of a finished run; None when there is no finished history."""
    losses = [row.get("loss") for row in numbers.history]
    if not losses or not all(_finite(loss) for loss in losses) or numbers.status != "finished":
        return None
    validation = [row.get("val_loss") for row in numbers.history]
    # what matters is the loss on examples it does not train on
    name, watched = (("validation", validation) if all(_finite(loss) for loss in validation)
                     else ("training", losses))
    count = len(watched)
    if count == 1:
        return Trend(name, True, f"one epoch shows where the {name} loss is ({watched[0]:.4g}), not whether "
                                 "it is still falling")
    if count < FEW_EPOCHS:
        fell = (watched[-2] - watched[-1]) / watched[-2] if watched[-2] > 0 else 0.0
        shown = f"the {name} loss went {watched[-2]:.4g} → {watched[-1]:.4g} in the last epoch"
        if fell > STILL_IMPROVING:
            return Trend(name, True, f"{shown} ({fell:.1%} lower): still falling after only {count} epochs", fell)
        return Trend(name, False, f"{shown}, under {STILL_IMPROVING:.0%} lower")
    window = _window(count)
    before, after = _mean(watched[-2 * window:-window]), _mean(watched[-window:])
    fell = (before - after) / before if before > 0 else 0.0
    lowest = min(watched[:-window])
    shown = f"the {name} loss averaged {before:.4g} then {after:.4g} over the last two {window}-epoch stretches"
    # a fall counts only if it is not a dip inside the epoch-to-epoch wander: a new low, below every earlier epoch
    if name == "training" and after < 0.01:
        return Trend(name, False, f"{shown}: near zero, little left to fall")
    if fell > STILL_IMPROVING and after < lowest:
        return Trend(name, True, f"{shown} ({fell:.1%} lower, below every earlier epoch): it had not settled",
                     fell)
    if fell > STILL_IMPROVING and after >= lowest:
        return Trend(name, False, f"{shown}, no lower than its earlier best ({lowest:.4g}): it wanders, "
                                  "it no longer falls")
    if fell < -STILL_IMPROVING:
        return Trend(name, False, f"{shown}: {_rise(numbers, watched, window)}", fell)
    return Trend(name, False, f"{shown}: " + ("it has settled" if fell > 0 else "it no longer falls"))


def _rise(numbers: RunNumbers, watched: list[float], window: int) -> str:
    """What a rise of the last stretch's average is: one spike, or the stretch as a whole (its median)."""
    before, last = watched[-2 * window:-window], watched[-window:]
    rise = _mean(last) - _mean(before)
    peak = max(range(window), key=lambda index: last[index])
    epoch = numbers.history[len(watched) - window + peak]["epoch"]
    ratio = _mean(last) / _mean(before)
    text = f"it rose to {ratio:.2g} times the stretch before" if ratio >= 2 else f"it rose {ratio - 1:.1%}"
    # one epoch that holds most of the rise is a spike (a bad batch, a large step), not the trend
    if (last[peak] - _mean(before)) / window > rise / 2:
        text += f", mostly from one spike ({last[peak]:.4g} in epoch {epoch:g})"
    low, high = _median(before), _median(last)
    if high <= low * (1 + OVERFIT_RISE):
        moved = f"rose only {high / low - 1:.0%}" if high > low else "did not rise"
        return text + f"; its median {moved} ({low:.4g} → {high:.4g}): noise, not a trend"
    return text + f"; its median rose too ({low:.4g} → {high:.4g})" + (
        f", though both are near 0 (the validation accuracy is {numbers.history[-1]['val_accuracy']:.4f})"
        if high < 0.01 and _finite(numbers.history[-1].get("val_accuracy")) else "")


def _nothing_to_gain(numbers: RunNumbers) -> str | None:
    """Why more epochs would not make the validation score better, or None when they still may: the score is
    already perfect, or it beat no learning and made no new best in the last stretch."""
    metric = _key_metric(numbers.metrics)
    scores = [row.get(f"val_{metric}") for row in numbers.history] if metric else []
    if len(scores) < 2 or not all(_finite(score) for score in scores):
        return None
    window = min(_window(len(scores)), len(scores) - 1)
    if metric == "accuracy" and min(scores[-window:]) >= 1.0:
        return "validation accuracy is already 1.0000" + (f" (in each of the last {window} epochs)"
                                                          if window > 1 else "")
    baseline = numbers.baseline.get(metric)
    if not _finite(baseline):
        return None
    margin = _accuracy_noise(baseline, numbers.validation_rows) if metric == "accuracy" else 0.05
    earlier = scores[:-window]
    best = max(range(len(earlier)), key=lambda index: earlier[index])
    if earlier[best] - baseline > margin and max(scores[-window:]) <= earlier[best]:
        return (f"validation {metric} has made no new best since epoch {numbers.history[best]['epoch']:g} "
                f"({earlier[best]:.4f}; {max(scores[-window:]):.4f} at most in the last {window} epochs)")
    return None


def _still_improving(numbers: RunNumbers) -> Verdict | None:
    trend = _trend(numbers)
    if trend is None or not trend.falling or _nothing_to_gain(numbers):
        return None
    if len(numbers.history) == 1:
        return Verdict("still_improving", "Too few epochs to tell: train longer", f"{trend.evidence}.",
                       "train for more epochs to see where the loss settles.", _train_longer(numbers))
    return Verdict("still_improving", "Still improving: train longer", f"{trend.evidence}.",
                   "train for more epochs.", _train_longer(numbers))


def curve_title(verdicts: list[Verdict]) -> str:
    """A learning-curve title that says what these curves show."""
    kinds = [verdict.kind for verdict in verdicts]
    titles = {"diverged": "Learning curves: the loss blew up (diverged): the learning rate is too large",
              "learned_nothing": "Learning curves: no better than no learning",
              "high_variance": "Learning curves: validation loss rose while training loss fell: overfitting",
              "high_bias": "Learning curves: training error stays high: underfitting (high bias)",
              "still_improving": "Learning curves: still falling at the end: train longer",
              "healthy": "Learning curves: training and validation fell together and settled"}
    return titles[kinds[0]] if kinds else titles["healthy"]


def diagnose_run(run_dir: Path | RunDir, prepared=None) -> list[Verdict]:
    """The verdict of a saved run (finished, failed or interrupted), from its files."""
    from nnlearn.baselines import baseline_metrics, expected_initial_loss
    from nnlearn.prepare import prepare_saved_run
    run_dir = RunDir.open(run_dir)
    if prepared is None:
        prepared, _ = prepare_saved_run(run_dir)
    metrics = run_dir.metrics()
    status = run_dir.record().get("status", "unknown") if run_dir.has_record() else "unknown"
    baseline = (metrics.get("baseline") or {}).get("test") or baseline_metrics(prepared)
    config = prepared.config
    stopping = config.fit.early_stopping
    train_y = prepared.splits.train.y
    start = (expected_initial_loss(config, prepared.dataset, train_y)[0]
             if train_y is not None and len(train_y) else None)
    return diagnose(RunNumbers(run_dir.history(), metrics, baseline, config.fit.epochs,
                               config.compile.optimizer.learning_rate, config.data.normalize,
                               len(prepared.splits.test), str(status), run_dir=str(run_dir),
                               patience=stopping.patience if stopping else None,
                               validation_rows=len(prepared.splits.validation or ()), initial_loss=start,
                               activations=tuple(getattr(layer, "activation", None) or ""
                                                 for layer in config.model.layers),
                               units=tuple(getattr(layer, "units", None) for layer in config.model.layers),
                               l2=tuple(getattr(getattr(layer, "kernel_regularizer", None), "l2", 0.0)
                                        for layer in config.model.layers),
                               optimizer=config.compile.optimizer.type,
                               monitor=stopping.monitor if stopping else "val_loss",
                               min_delta=stopping.min_delta if stopping else 0.0,
                               restore_best_weights=bool(stopping and stopping.restore_best_weights)))
