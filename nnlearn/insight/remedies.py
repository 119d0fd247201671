"""What to try after a diagnosis, and why: a learning rate back in its usual range, a bottleneck widened,
an L2 penalty, the early stopping that this run's own history shows would have helped. Each remedy is a
sentence and, when one fits, a command."""

from __future__ import annotations

import math

from nnlearn.config.learning_rates import usual_rate
from nnlearn.insight.run_numbers import (
    RunNumbers,
    accuracy_noise,
    finite,
    hidden_layers,
    key_metric,
    retrain,
    train_longer,
)
from nnlearn.model.divergence import lower_rate_advice

# an epoch whose validation loss is within this share of the lowest is as good as the lowest
NEAR_BEST = 0.05
# a loss that changed by less than this share over the whole run stayed flat
FLAT = 0.01
# a hidden layer this narrow (or narrower than the number of classes) is a bottleneck; widened to at least this
NARROW_UNITS, WIDENED_UNITS = 2, 16
# the L2 penalty suggested for a layer without one (lint calls 0.001 to 0.01 a good start)
FIRST_L2 = 0.001
# the largest L2 penalty suggested (ten times more than this, lint warns that the weights shrink to 0)
LARGEST_L2 = 0.01
# the early-stopping patiences tried on a run's own history, smallest first
PATIENCES = (5, 10, 20, 50, 100, 200, 500, 1000)


# what lets a model memorise less, other than stopping early
LESS_MEMORY = "add regularization (L2) or dropout, use a smaller model, or get more data"


def widened_width(other_widths: list[int], outputs: int) -> int:
    """The units to widen a bottleneck layer to: the widest other hidden layer's, else enough (WIDENED_UNITS,
    or the outputs when more) that some units dying leaves others alive."""
    return max(other_widths) if other_widths else max(WIDENED_UNITS, outputs)


def regularization_advice(numbers: RunNumbers) -> tuple[str, str | None]:
    """The remedies for overfitting other than early stopping, with an L2 penalty on the widest hidden dense
    layer (the one with the most weights to memorise with) as the command; a model that already drops
    units is told of a larger rate, not of dropout."""
    dropped = [(index, rate) for index, rate in enumerate(numbers.dropout) if rate]
    remedy = (LESS_MEMORY if not dropped else LESS_MEMORY.replace(
        "or dropout", f"or more dropout (model.layers[{dropped[0][0]}] drops {dropped[0][1]:g} now)"))
    hidden = hidden_layers(numbers)
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
            retrain(numbers, f"{penalty}={value:g}"))


def lower_rate(numbers: RunNumbers) -> tuple[str, str]:
    """How to lower a learning rate that made the steps too large (lowered_rate), and the command."""
    advice, lowered = lower_rate_advice(numbers.learning_rate, numbers.optimizer)
    return advice, retrain(numbers, f"compile.optimizer.learning_rate={lowered:g}")


def bias_remedy(numbers: RunNumbers) -> tuple[str, str | None]:
    """What makes a model less simple, from what it has: a bottleneck widened, linear hidden layers given
    ReLU, a penalty or dropout lowered, a hidden layer added, or the widest hidden layer doubled."""
    narrow, classes = _narrow_layers(numbers)
    hidden = hidden_layers(numbers)
    if narrow:
        others = [units for index, units in hidden if (index, units) not in narrow]
        width = widened_width(others, classes or 0)
        names = " and ".join(f"model.layers[{index}] ({units} unit{'s' if units > 1 else ''})"
                             for index, units in narrow)
        return (f"{names} {'is a bottleneck' if len(narrow) == 1 else 'are bottlenecks'}: everything the output "
                f"learns passes through {'it' if len(narrow) == 1 else 'them'}. Widen to {width} units",
                retrain(numbers, *(f"model.layers[{index}].units={width}" for index, _ in narrow)))
    linear = [index for index, _ in hidden if index < len(numbers.activations)
              and numbers.activations[index] in ("linear", "")]
    if hidden and len(linear) == len(hidden):
        return ("its hidden layers are linear, so the whole network is one linear function of x, which cannot "
                "bend: give them ReLU", retrain(numbers, *(f"model.layers[{index}].activation=relu"
                                                          for index in linear)))
    penalised = [(index, l2) for index, l2 in enumerate(numbers.l2) if l2]
    if penalised:
        index, l2 = max(penalised, key=lambda layer: layer[1])
        return (f"less regularization: model.layers[{index}]'s L2 penalty ({l2:g}) keeps its weights small; "
                "lower it tenfold", retrain(numbers, f"model.layers[{index}].kernel_regularizer.l2={l2 / 10:g}"))
    dropped = [(index, rate) for index, rate in enumerate(numbers.dropout) if rate]
    if dropped:
        index, rate = max(dropped, key=lambda layer: layer[1])
        return (f"less dropout: model.layers[{index}] drops {rate:g} of its inputs while training; halve it",
                retrain(numbers, f"model.layers[{index}].rate={rate / 2:g}"))
    if not hidden:
        return ("a hidden layer: with none, the model is one linear function of x (a straight boundary, a "
                "plane); add one, e.g. {type: dense, units: 16, activation: relu}, before the output layer", None)
    index, units = max(hidden, key=lambda layer: layer[1])
    return (f"more units: model.layers[{index}] has {units}; try twice as many, or another layer",
            retrain(numbers, f"model.layers[{index}].units={2 * units}"))


def variance_remedy(numbers: RunNumbers) -> tuple[str, str | None]:
    """Overfitting's remedies: early stopping replayed on this run's own history when it has none and it
    would help, else regularization (a penalty, more dropout, a smaller model, more data)."""
    rows = [row for row in numbers.history if finite(row.get("val_loss"))]
    if numbers.patience is None and len(rows) > 1:
        return early_stopping_advice(numbers, rows)
    advice, command = regularization_advice(numbers)
    if numbers.patience is not None:
        advice = f"early stopping is already on (patience {numbers.patience}); {advice}"
    return advice, command


def raised_rate(numbers: RunNumbers) -> float | None:
    """The learning rate to try when this one is too small: the usual rate straight away when it is below a
    tenth of it (tenfold at a time would take run after run, each under-trained), else None."""
    usual = usual_rate(numbers.optimizer)
    return usual if numbers.learning_rate < usual / 10 else None


def _narrow_layers(numbers: RunNumbers) -> tuple[list[tuple[int, int]], int | None]:
    """The hidden dense layers narrow enough to be a bottleneck: 1-2 units, or fewer than the classes to tell
    apart; and the number of classes (None for regression)."""
    dense = [units for units in numbers.units if units]
    metric = key_metric(numbers.metrics)
    classes = (max(dense[-1], 2) if dense and metric == "accuracy" else None)
    return ([(index, units) for index, units in hidden_layers(numbers)
             if units <= NARROW_UNITS or (classes and units < classes)], classes)


def why_stuck(numbers: RunNumbers, losses: list[float]) -> tuple[str, str | None]:
    """Why the loss barely moved, and what to try: a bottleneck layer, a rate far too small, dead units."""
    rate, usual = numbers.learning_rate, usual_rate(numbers.optimizer)
    flat = abs(losses[-1] - losses[0]) <= FLAT * losses[0]
    start = numbers.untrained_loss
    moved = f"the loss {'stayed flat' if flat else 'barely moved'} ({losses[0]:.4g} → {losses[-1]:.4g}"
    moved += (f", where an untrained model starts from {start:.4g})" if start is not None
              and losses[-1] <= start * (1 + NEAR_BEST) else ")")
    hidden_relu = any(numbers.activations[index] == "relu" for index, _ in hidden_layers(numbers)
                      if index < len(numbers.activations))
    narrow, classes = _narrow_layers(numbers)
    inspect = f"`nnlearn inspect {numbers.run_dir}` shows which units are dead"
    if narrow:
        others = [units for index, units in hidden_layers(numbers) if (index, units) not in narrow]
        width = widened_width(others, classes or 0)
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
                retrain(numbers, *(f"model.layers[{index}].units={width}" for index, _ in narrow)))
    raised = raised_rate(numbers)
    if raised or (numbers.optimizer == "sgd" and rate < usual and not flat):
        return (f"{moved}: the learning rate (now {rate:g}, against the usual {usual:g}) is likely too small, "
                "or the training too short" + (f": start again from {usual:g} rather than raising it tenfold run "
                                               "after run" if raised else ""),
                retrain(numbers, f"compile.optimizer.learning_rate={raised or min(rate * 10, usual):g}"))
    if flat and not hidden_layers(numbers):
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
    return (f"{moved}: the training was likely too short", train_longer(numbers))


def what_large_steps_do(activations: tuple[str, ...]) -> str:
    """What a huge step does to this model's units, in the words of its own activations."""
    if "relu" in activations:
        return "steps that large can kill every ReLU unit (z stays below 0, where its gradient is 0)"
    saturating = [name for name in ("sigmoid", "tanh") if name in activations]
    if saturating:
        return (f"steps that large can push every {' and '.join(saturating)} unit into saturation (z so large "
                "that its output is stuck at an end, where its gradient is almost 0)")
    return "steps that large throw the weights far past the minimum, back and forth"


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


def early_stopping_advice(numbers: RunNumbers, rows: list[dict]) -> tuple[str, str | None]:
    """What early stopping would have done on this very history: advice and command only if it helps.

    The same seed replays the same epochs until it stops, so the kept epoch's validation numbers are what
    the suggested run ends with. The patience suggested is the smallest that keeps an epoch whose validation
    loss is within NEAR_BEST of the lowest (a smaller one stops on an earlier, worse dip); it helps when that
    epoch's validation loss is lower than at the end and its validation score (accuracy, r2) no worse beyond
    the noise of the validation examples.
    """
    losses = [row["val_loss"] for row in rows]
    metric = key_metric(numbers.metrics)
    score, end = f"val_{metric}", rows[-1]
    scored = finite(end.get(score))
    slack = accuracy_noise(end[score], numbers.validation_rows) if scored and metric == "accuracy" else 0.0
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
                        f"{shown(stop, kept)}); or {LESS_MEMORY}.",
                        retrain(numbers, "fit.early_stopping.monitor=val_loss",
                                 f"fit.early_stopping.patience={patience}",
                                 "fit.early_stopping.restore_best_weights=true"))
            break  # a larger patience keeps this epoch or the lowest, and helps no more
    remedy, command = regularization_advice(numbers)
    if first is None:
        return remedy, command
    return (f"{remedy[:-1]}. Early stopping would not help this run: with patience {first[0]} it would "
            f"{first[1]}.", command)
