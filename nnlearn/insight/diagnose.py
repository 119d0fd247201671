"""What a run's own numbers say about it, in the course's words: learned nothing, diverged, still
improving, high bias (underfitting), high variance (overfitting), or healthy. Each verdict names its
evidence and one next step as a command.

Works from the saved files alone (history, metrics, the resolved config): no TensorFlow.
"""

from __future__ import annotations

import math

from nnlearn.config.learning_rates import usual_rate
from nnlearn.insight.remedies import (
    early_stopping_advice,
    lower_rate,
    raised_rate,
    regularization_advice,
    what_large_steps_do,
    why_stuck,
)
from nnlearn.insight.run_numbers import (
    RunNumbers,
    Trend,
    Verdict,
    accuracy_noise,
    finite,
    gap,
    key_metric,
    mean,
    median,
    retrain,
    stretch_of,
    train_longer,
)
from nnlearn.runs.rundir import RunDir

# a loss still falling by more than this share over the last tenth of the epochs: train longer
STILL_IMPROVING = 0.02
# validation loss (averaged over a stretch) this much above its best stretch, beyond its noise: overfitting
OVERFIT_RISE = 0.10
# the validation loss's median over a stretch this much above its lowest stretch median: overfitting even when
# the validation loss jumps (medians ignore the spikes that make a long run's spread large)
OVERFIT_FAR_RISE = 0.5
# a finite loss this many times the loss an untrained model starts from: the steps threw it off (diverged)
DIVERGED_GROWTH = 100
# a loss in the first epochs this many times what an untrained model starts from: the first steps were too large
EARLY_BLOWUP = 1.5
# fewer epochs than this cannot hold two 3-epoch stretches: judge the trend from the last epoch alone
FEW_EPOCHS = 6
# a training loss ending (averaged over the last stretch) above this many times what an untrained model starts
# from, plus ENDS_ABOVE_MARGIN, never settled: the steps are too large (the loss-before-training check's bound)
ENDS_ABOVE, ENDS_ABOVE_MARGIN = 2, 1.0
# a training score (accuracy, r2) more than this below 1 is far from perfect: a plateau of the validation
# score does not mean there is nothing left to gain
FAR_FROM_PERFECT = 0.1


def diagnose(numbers: RunNumbers) -> list[Verdict]:
    """The one verdict that best tells the run's story, in a list (as JSON keeps it); 'healthy' when none does.

    The checks go from most to least urgent and the first that applies wins, so a run never gets two
    pieces of advice that pull apart (a lower learning rate and a larger one, stop earlier and train longer).
    """
    kept = _kept_epoch(numbers)
    # with the best epoch's weights brought back, judge those weights, not the epochs after them
    checks = ((_diverged, _no_epochs, _learned_nothing, _high_variance, _high_bias, _still_improving)
              if kept is None else (_diverged, _learned_nothing, lambda numbers: _judge_kept(numbers, kept)))
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
    linear = _linear_hidden_layers(numbers)
    if linear:  # healthy for what it is: one linear model, whose boundary cannot bend
        return [Verdict("healthy", "Looks healthy for a linear model",
                        f"{shown}; {_no_overfitting(numbers)}{settled}; but its hidden layers are linear, so the "
                        "whole network computes one linear function of x (a straight boundary, a plane), as one "
                        "layer would.",
                        "give the hidden layers a nonlinear activation (ReLU), so they can bend the boundary, and "
                        "compare:", retrain(numbers, *(f"model.layers[{index}].activation=relu" for index in linear)))]
    return [_healthy(numbers, "Looks healthy", f"{shown}; {_no_overfitting(numbers)}{settled}.")]


def _healthy(numbers: RunNumbers, title: str, evidence: str) -> Verdict:
    """A healthy verdict, whose next step is to look inside or compare a variation."""
    return Verdict("healthy", title, evidence,
                   "compare a variation with `nnlearn sweep`, or look at what each layer learned:",
                   f"nnlearn inspect {numbers.run_dir}")


def _linear_hidden_layers(numbers: RunNumbers) -> list[int]:
    """The hidden layers' indices when the model is dense layers only and every hidden one is linear; else
    none (no hidden layer, or a layer that bends: an activation, a convolution, a pooling)."""
    before_output = list(range(len(numbers.units) - 1))
    dense_only = all(numbers.units[index] for index in before_output)
    linear = all(index < len(numbers.activations) and numbers.activations[index] in ("linear", "")
                 for index in before_output)
    return before_output if before_output and dense_only and linear else []


def _test_against_no_learning(numbers: RunNumbers) -> str:
    metric = key_metric(numbers.metrics)
    test = (numbers.metrics.get("test") or {}).get(metric)
    return (f"test {metric} {test:.4f} against {numbers.baseline.get(metric, float('nan')):.4f} with no learning"
            if metric and finite(test) else "the loss fell")


def _kept_epoch(numbers: RunNumbers) -> int | None:
    """The epoch (index) whose weights early stopping brought back at the end, as Keras picks it: the last
    that improved the monitored number by more than min_delta. None when the model ends with the last epoch's
    weights anyway (no early stopping, no restore_best_weights, the last epoch was the best, or unfinished)."""
    if numbers.patience is None or not numbers.restore_best_weights or numbers.status != "finished":
        return None
    values = [row.get(numbers.monitor) for row in numbers.history]
    if len(values) < 2 or not all(finite(value) for value in values):
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
    if not (finite(train) and finite(validation)):
        train, validation = row.get("loss"), row.get("val_loss")
    if not (finite(train) and finite(validation)):
        verdict = _high_bias(numbers)
        return verdict or _healthy(numbers, "Looks healthy: early stopping kept its best epoch",
                                   f"{_test_against_no_learning(numbers)}; {how}.")
    losses = f"validation loss {validation:.4g} against training loss {train:.4g} with those weights"
    if gap(validation, train):
        advice, command = regularization_advice(numbers)
        return Verdict("high_variance", "High variance: overfitting, even at the epoch early stopping kept",
                       f"{how}; {losses}: even there it fits its training examples far better than new ones "
                       "(half as large again, and by more than 0.05).",
                       "early stopping already brought back its best epoch, so suggesting it again would change "
                       f"nothing; the model itself must memorise less: {advice}", command)
    verdict = _high_bias(numbers)
    if verdict:
        verdict.evidence = f"{verdict.evidence[:-1]}; {how}."
        return verdict
    return _healthy(numbers, "Looks healthy: early stopping kept its best epoch",
                    f"{_test_against_no_learning(numbers)}; {how}; {losses}: no overfitting left at that epoch "
                    f"({_thrown_away(numbers, kept)}).")


def _thrown_away(numbers: RunNumbers, kept: int) -> str:
    """What the epochs after the kept one did, as the history shows it: the monitored number made no new best;
    the validation loss, when it is not the one monitored, is named with where it went."""
    after = numbers.history[kept + 1:]
    by = f" by more than min_delta ({numbers.min_delta:g})" if numbers.min_delta else ""
    text = (f"the {len(after)} epoch{'s' if len(after) > 1 else ''} after it, where {numbers.monitor} did not "
            f"improve on it{by}, were thrown away")
    losses = [row.get("val_loss") for row in numbers.history]
    if numbers.monitor == "val_loss" or not all(finite(loss) for loss in losses):
        return text
    lowest = min(losses[kept + 1:])
    if lowest < losses[kept]:
        return (text + f"; the validation loss did go on falling after it, from {losses[kept]:.4g} to "
                f"{lowest:.4g} at best, so early stopping on val_loss would keep a later epoch")
    return text + f"; no epoch after it had a lower validation loss than its {losses[kept]:.4g} either"


def _no_overfitting(numbers: RunNumbers) -> str:
    """Why a healthy run is not called overfitting, honest about a gap between training and validation loss."""
    rows = [row for row in numbers.history if finite(row.get("val_loss")) and finite(row.get("loss"))]
    if len(rows) < 2:
        return "no sign of overfitting or underfitting"
    window = min(stretch_of(len(rows)), len(rows))
    train, validation = (mean([row[name] for row in rows[-window:]]) for name in ("loss", "val_loss"))
    if not gap(validation, train):
        return "no sign of overfitting or underfitting"
    return (f"validation loss {validation:.4g} against training loss {train:.4g} at the end (averaged over the "
            f"last {window} epochs): it fits its training examples better than new ones, but the validation loss "
            "has not risen clearly above its best stretch, so it is not overfitting yet")


def _diverged(numbers: RunNumbers) -> Verdict | None:
    losses = [row.get("loss") for row in numbers.history]
    good = [loss for loss in losses if finite(loss)]
    known = numbers.untrained_loss is not None
    broke = numbers.status == "failed" or bool(losses and not finite(losses[-1]))
    peak = None
    if broke:
        bad = next((index for index, loss in enumerate(losses) if not finite(loss)), len(losses))
        epoch = int(numbers.history[bad]["epoch"]) if bad < len(losses) else len(losses) + 1
        evidence = "the loss became NaN or infinite " + (
            "in epoch 1, before the first epoch ended" if epoch == 1
            else f"in epoch {epoch}, after epoch {epoch - 1} had ended with a finite loss")
    else:
        # a finite loss can diverge too: far above where an untrained model starts, and never back below it
        start = numbers.initial_loss if known else (good[0] if good else None)
        if start and good and max(good) > DIVERGED_GROWTH * start and good[-1] > start:
            peak = good.index(max(good))
            source = "an untrained model starts from" if known else "it had after epoch 1"
            evidence = (f"the loss reached {good[peak]:.4g} in epoch {numbers.history[peak]['epoch']:g}, "
                        f"{good[peak] / start:.2g} times the {start:.4g} {source}, and ended at {good[-1]:.4g}, "
                        "still above that")
        else:
            evidence = _ends_above_start(numbers, good)
            if evidence is None:
                return None
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
    advice, command = lower_rate(numbers)
    return Verdict("diverged", "Diverged: the steps were too large", evidence + ".",
                   advice + ("; unscaled features make this more likely (data.normalize: none)"
                             if numbers.normalize == "none" else "") + ".", command)


def _ends_above_start(numbers: RunNumbers, losses: list[float]) -> str | None:
    """The evidence that a finite training loss never came down: averaged over the last stretch (epoch 1
    left out, as it starts from the untrained model) it stays far above where an untrained model starts,
    so a model answering the same for every example would do better. None when it came down."""
    start = numbers.untrained_loss
    if not (start is not None and len(losses) >= 2 and len(losses) == len(numbers.history)):
        return None
    window = min(stretch_of(len(losses)), len(losses) - 1)
    end = mean(losses[-window:])
    if end <= ENDS_ABOVE * start + ENDS_ABOVE_MARGIN:
        return None
    return (f"the training loss averaged {end:.4g} over the last {window} epochs, {end / start:.2g} times the "
            f"{start:.4g} an untrained model starts from (it went {losses[0]:.4g} → {losses[-1]:.4g}): it never "
            "came down to where a model answering the same for every example would be; "
            f"{what_large_steps_do(numbers.activations)}")


def _no_epochs(numbers: RunNumbers) -> Verdict | None:
    """A run with no epoch recorded has no loss to judge: say so rather than call it healthy."""
    if numbers.history:
        return None
    why = {"interrupted": "it was interrupted before the first epoch ended",
           "running": "it is still in its first epoch"}.get(numbers.status, "its history.csv is empty or missing")
    return Verdict("still_improving", "Too few epochs to tell",
                   f"no epoch is recorded ({why}), so there is no loss to judge.",
                   "train it again and let at least one epoch finish (a few, to see where the loss goes), then "
                   "diagnose that run.", retrain(numbers))


def _learned_nothing(numbers: RunNumbers) -> Verdict | None:
    metric = key_metric(numbers.metrics)
    test = (numbers.metrics.get("test") or {}).get(metric) if metric else None
    baseline = numbers.baseline.get(metric) if metric else None
    if not (finite(test) and finite(baseline)):
        return None
    if metric == "accuracy":
        noise = accuracy_noise(baseline, numbers.test_rows)
        if test - baseline > noise:
            return None
        evidence = (f"test accuracy {test:.4f} against {baseline:.4f} for always answering the most common class"
                    f" (within the noise of {numbers.test_rows} test examples, ±{noise:.3f}).")
    else:
        if test > 0.05:
            return None
        evidence = f"test r2 {test:.4f}: no better than predicting the training mean (r2 ≈ 0)."
    losses = [row["loss"] for row in numbers.history if finite(row.get("loss"))]
    rate = numbers.learning_rate
    start = numbers.untrained_loss
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
    scored = [row for row in numbers.history if finite(row.get(f"val_{metric}"))]
    best = max(scored, key=lambda row: row[f"val_{metric}"], default=None)
    margin = noise if metric == "accuracy" else 0.05
    learned = best is not None and best[f"val_{metric}"] - baseline > margin
    command = None
    if blew_up:
        high = max(losses[:3])
        against = (f"{high / start:.2g} times the {start:.4g} an untrained model starts from"
                   if start is not None and high > EARLY_BLOWUP * start else f"against {min(losses):.4g} at best")
        advice, command = lower_rate(numbers)
        cause = (f"the loss blew up early (epoch {losses.index(high) + 1}: {high:.4g}, {against}): the steps were "
                 f"too large, and {what_large_steps_do(numbers.activations)}, leaving a model that predicts one "
                 f"value. {advice[0].upper()}{advice[1:]}")
    elif numbers.normalize == "none":
        cause = ("the features are not scaled (data.normalize: none): features of very different sizes make "
                 "gradient descent crawl along some directions. Standardise them")
        command = retrain(numbers, "data.normalize=standard")
    elif stopped:
        cause = (f"early stopping ended it at epoch {len(numbers.history)} of {numbers.epochs_planned}, on a "
                 f"plateau it might have left"
                 + (f" (validation {metric} already reached {best[f'val_{metric}']:.4f} at epoch "
                    f"{best['epoch']:g})" if learned else "")
                 + f". Give it more patience (now {numbers.patience})")
        command = retrain(numbers, f"fit.early_stopping.patience={max(20, 4 * numbers.patience)}")
    elif losses and losses[-1] > 0.9 * losses[0]:
        cause, command = why_stuck(numbers, losses)
    elif learned:
        cause = (f"validation {metric} reached {best[f'val_{metric}']:.4f} at epoch {best['epoch']:g}, so the "
                 "features do carry the answer, but the model lost it by the end: try a smaller learning rate "
                 f"(now {rate:g}) or early stopping on val_loss")
    else:
        cause = ("the loss fell but the predictions got no better than no learning. Possibly the model settled "
                 "in a poor minimum (try another seed, or `nnlearn lr-find` on the config), or the labels may "
                 "not follow from these features")
    return Verdict("learned_nothing", "Learned nothing", evidence, f"likely cause: {cause}.", command)


def _high_bias(numbers: RunNumbers) -> Verdict | None:
    metric = key_metric(numbers.metrics)
    train = (numbers.metrics.get("train") or {}).get(metric) if metric else None
    baseline = numbers.baseline.get(metric) if metric else None
    if not (finite(train) and finite(baseline)):
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
                       "units or layers, less regularization.", train_longer(numbers))
    return Verdict("high_bias", "High bias: underfitting", evidence + (f" And {trend.evidence}." if trend else ""),
                   "the model is too simple for the task: more units or layers, less regularization (more "
                   "epochs alone will not help a settled loss).", None)


def _high_variance(numbers: RunNumbers) -> Verdict | None:
    rows = [row for row in numbers.history if finite(row.get("val_loss")) and finite(row.get("loss"))]
    if len(rows) < 5:
        return None
    window = stretch_of(len(rows))
    losses = [row["val_loss"] for row in rows]
    train = [row["loss"] for row in rows]
    starts = range(len(losses) - window + 1)
    # averages over a stretch, as validation loss on few examples jumps from epoch to epoch
    stretches = [mean(losses[start:start + window]) for start in starts]
    best_stretch = min(stretches)
    end = stretches[-1]
    spread = math.sqrt(mean([(loss - end) ** 2 for loss in losses[-window:]]))
    rose = end > best_stretch * (1 + OVERFIT_RISE) and end - best_stretch > 2 * spread
    # medians over a stretch ignore the spikes of a long run; the training loss must have gone on falling
    medians = [median(losses[start:start + window]) for start in starts]
    low = min(range(len(medians)), key=lambda start: medians[start])
    far = (medians[-1] >= medians[low] * (1 + OVERFIT_FAR_RISE)
           and median(train[-window:]) < median(train[low:low + window]))
    # J_cv rising while J_train falls is overfitting even when J_train stays above J_cv (dropout makes the
    # training loss, measured while training, the larger one)
    at = stretches.index(best_stretch)
    train_fell = mean(train[-window:]) < mean(train[at:at + window]) * (1 - OVERFIT_RISE)
    gapped = gap(end, train[-1])
    if not ((rose or far) and (gapped or (rose and train_fell))):
        return None
    best = min(range(len(rows)), key=lambda index: losses[index])
    started = rows[best]["epoch"]
    compared = (f"validation loss {end:.4f} against training loss {train[-1]:.4g} at the end" if gapped
                else f"validation loss {best_stretch:.4g} over its best stretch and {end:.4g} at the end, while "
                     f"the training loss fell from {mean(train[at:at + window]):.4g} to {mean(train[-window:]):.4g}")
    evidence = (f"{compared} (averaged over {window} epochs); the validation loss was lowest at epoch {started:g} "
                f"({losses[best]:.4f}) and rose after it"
                + (f", its {window}-epoch median to {medians[-1] / medians[low]:.1f} times its lowest"
                   f" ({medians[low]:.4f} → {medians[-1]:.4f})" if far and not rose else "")
                + (", while the training loss kept falling." if gapped else "."))
    advice, command = early_stopping_advice(numbers, rows)
    return Verdict("high_variance", "High variance: overfitting", evidence,
                   f"it memorises the training examples from about epoch {started:g}: {advice}", command)


def _trend(numbers: RunNumbers) -> Trend | None:
    """The watched loss's trend at the end of a finished run; None when there is no finished history."""
    losses = [row.get("loss") for row in numbers.history]
    if not losses or not all(finite(loss) for loss in losses) or numbers.status != "finished":
        return None
    validation = [row.get("val_loss") for row in numbers.history]
    # what matters is the loss on examples it does not train on
    name, watched = (("validation", validation) if all(finite(loss) for loss in validation)
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
        # one epoch of a noisy validation loss says little: a training loss still clearly falling says more
        trained = (losses[-2] - losses[-1]) / losses[-2] if losses[-2] > 0 else 0.0
        if name == "validation" and fell > 0 and trained > STILL_IMPROVING:
            return Trend("training", True, f"{shown} ({fell:.1%} lower) and the training loss {losses[-2]:.4g} → "
                                           f"{losses[-1]:.4g} ({trained:.1%} lower): still falling after only "
                                           f"{count} epochs", trained)
        return Trend(name, False, f"{shown}, under {STILL_IMPROVING:.0%} lower")
    window = stretch_of(count)
    before, after = mean(watched[-2 * window:-window]), mean(watched[-window:])
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
    rise = mean(last) - mean(before)
    peak = max(range(window), key=lambda index: last[index])
    epoch = numbers.history[len(watched) - window + peak]["epoch"]
    ratio = mean(last) / mean(before)
    text = f"it rose to {ratio:.2g} times the stretch before" if ratio >= 2 else f"it rose {ratio - 1:.1%}"
    # one epoch that holds most of the rise is a spike (a bad batch, a large step), not the trend
    if (last[peak] - mean(before)) / window > rise / 2:
        text += f", mostly from one spike ({last[peak]:.4g} in epoch {epoch:g})"
    low, high = median(before), median(last)
    if high <= low * (1 + OVERFIT_RISE):
        moved = (("rose only" if high / low < ratio else "rose") + f" {high / low - 1:.0%}" if high > low
                 else "did not rise")
        return text + f"; its median {moved} ({low:.4g} → {high:.4g}): noise, not a trend"
    return text + f"; its median rose too ({low:.4g} → {high:.4g})" + (
        f", though both are near 0 (the validation accuracy is {numbers.history[-1]['val_accuracy']:.4f})"
        if high < 0.01 and finite(numbers.history[-1].get("val_accuracy")) else "")


def _nothing_to_gain(numbers: RunNumbers) -> str | None:
    """Why more epochs would not make the validation score better, or None when they still may: the score is
    already perfect, or it beat no learning and made no new best in the last stretch."""
    metric = key_metric(numbers.metrics)
    scores = [row.get(f"val_{metric}") for row in numbers.history] if metric else []
    if len(scores) < 2 or not all(finite(score) for score in scores):
        return None
    window = min(stretch_of(len(scores)), len(scores) - 1)
    if metric == "accuracy" and min(scores[-window:]) >= 1.0:
        return "validation accuracy is already 1.0000" + (f" (in each of the last {window} epochs)"
                                                          if window > 1 else "")
    baseline = numbers.baseline.get(metric)
    if not finite(baseline):
        return None
    margin = accuracy_noise(baseline, numbers.validation_rows) if metric == "accuracy" else 0.05
    earlier = scores[:-window]
    best = max(range(len(earlier)), key=lambda index: earlier[index])
    train = (numbers.metrics.get("train") or {}).get(metric)
    trend = _trend(numbers)
    # a coarse validation score (100 rows: steps of 0.01) can stall while the model still learns
    learning = (trend is not None and trend.name == "validation" and trend.falling and finite(train)
                and 1 - train > FAR_FROM_PERFECT)
    if earlier[best] - baseline > margin and max(scores[-window:]) <= earlier[best] and not learning:
        return (f"validation {metric} has made no new best since epoch {numbers.history[best]['epoch']:g} "
                f"({earlier[best]:.4f}; {max(scores[-window:]):.4f} at most in the last {window} epochs)")
    return None


def _still_improving(numbers: RunNumbers) -> Verdict | None:
    trend = _trend(numbers)
    if trend is None or not trend.falling or _nothing_to_gain(numbers):
        return None
    raised, usual = raised_rate(numbers), usual_rate(numbers.optimizer)
    if raised:  # each epoch moves it little: more of them would take long, a usual rate gets there
        return Verdict("still_improving", "Still improving: slowly, at a learning rate far below the usual",
                       f"{trend.evidence}; the learning rate is {numbers.learning_rate:g}, under a tenth of the "
                       f"usual {usual:g}.",
                       f"start again from the usual {usual:g}, rather than raising it tenfold run after run (or "
                       "train for many more epochs).",
                       retrain(numbers, f"compile.optimizer.learning_rate={raised:g}"))
    if len(numbers.history) == 1:
        return Verdict("still_improving", "Too few epochs to tell: train longer", f"{trend.evidence}.",
                       "train for more epochs to see where the loss settles.", train_longer(numbers))
    return Verdict("still_improving", "Still improving: train longer", f"{trend.evidence}.",
                   "train for more epochs.", train_longer(numbers))


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


def diagnose_run(run_dir: RunDir, prepared=None) -> list[Verdict]:
    """The verdict of a saved run (finished, failed or interrupted), from its files."""
    from nnlearn.model.baselines import baseline_metrics, expected_initial_loss
    from nnlearn.runs.saved_run import prepare_saved_run

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
