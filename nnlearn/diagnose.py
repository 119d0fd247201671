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
# validation loss this much above its best (after the best epoch): the model started to overfit
OVERFIT_RISE = 0.10


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


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _key_metric(metrics: dict) -> str | None:
    test = metrics.get("test") or {}
    return "accuracy" if "accuracy" in test else ("r2" if "r2" in test else None)


def _retrain(numbers: RunNumbers, *settings: str) -> str:
    return f"nnlearn train --from {numbers.run_dir} " + " ".join(f"--set {setting}" for setting in settings)


def diagnose(numbers: RunNumbers) -> list[Verdict]:
    """Every verdict that applies, most urgent first; 'healthy' when none does."""
    verdicts = []
    for check in (_diverged, _learned_nothing, _high_bias, _high_variance, _still_improving):
        verdict = check(numbers)
        if verdict:
            verdicts.append(verdict)
    if verdicts and verdicts[0].kind in ("diverged", "learned_nothing"):
        verdicts = [verdict for verdict in verdicts if verdict.kind != "high_bias"]  # the same story, told once
    if not verdicts:
        metric = _key_metric(numbers.metrics)
        test = (numbers.metrics.get("test") or {}).get(metric)
        shown = f"test {metric} {test:.4f} against {numbers.baseline.get(metric, float('nan')):.4f} with no " \
                "learning" if metric and _finite(test) else "the loss fell and settled"
        verdicts.append(Verdict("healthy", "Looks healthy", f"{shown}; training and validation agree, and the "
                                "loss has settled.", "compare a variation with `nnlearn sweep`, or look inside "
                                "with `nnlearn plot`.", None))
    return verdicts


def _diverged(numbers: RunNumbers) -> Verdict | None:
    losses = [row.get("loss") for row in numbers.history]
    if numbers.status != "failed" and all(_finite(loss) for loss in losses):
        return None
    if numbers.status != "failed" and losses and _finite(losses[-1]):
        return None
    good = [loss for loss in losses if _finite(loss)]
    grew = next((index + 2 for index in range(len(good) - 1) if good[index + 1] > good[index] * 1.5), None)
    rate = numbers.learning_rate
    evidence = (f"the loss became NaN or infinite after epoch {len(good)}"
                + (f"; it first grew sharply at epoch {grew} ({good[grew - 2]:.4g} → {good[grew - 1]:.4g})"
                   if grew else "") + ".")
    return Verdict("diverged", "Diverged: the steps were too large", evidence,
                   f"lower the learning rate (now {rate:g}) about tenfold and start again"
                   + ("; unscaled features make this more likely (data.normalize: none)"
                      if numbers.normalize == "none" else "") + ".",
                   _retrain(numbers, f"compile.optimizer.learning_rate={rate / 10:g}"))


def _learned_nothing(numbers: RunNumbers) -> Verdict | None:
    metric = _key_metric(numbers.metrics)
    test = (numbers.metrics.get("test") or {}).get(metric) if metric else None
    baseline = numbers.baseline.get(metric) if metric else None
    if not (_finite(test) and _finite(baseline)):
        return None
    if metric == "accuracy":
        noise = max(2 * math.sqrt(max(baseline * (1 - baseline), 1e-4) / max(numbers.test_rows, 1)), 0.01)
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
    if losses and max(losses[:3]) > 10 * min(losses):
        cause = (f"the loss blew up early (epoch {losses.index(max(losses[:3])) + 1}: {max(losses[:3]):.4g}, "
                 f"against {min(losses):.4g} at best): steps that large can kill every ReLU unit, leaving a "
                 f"model that predicts one value. Lower the learning rate (now {rate:g})")
        command = _retrain(numbers, f"compile.optimizer.learning_rate={rate / 10:g}")
    elif numbers.normalize == "none":
        cause = ("the features are not scaled (data.normalize: none): features of very different sizes make "
                 "gradient descent crawl along some directions. Standardise them")
        command = _retrain(numbers, "data.normalize=standard")
    elif losses and losses[-1] > 0.9 * losses[0]:
        cause = (f"the loss barely moved ({losses[0]:.4g} → {losses[-1]:.4g}): the learning rate (now {rate:g}) "
                 "may be too small, or the training too short")
        command = _retrain(numbers, f"compile.optimizer.learning_rate={rate * 10:g}")
    else:
        cause = ("the loss fell but the predictions did not get better than no learning: check that the labels "
                 "follow from the features, and try `nnlearn lr-find` on the config")
        command = None
    return Verdict("learned_nothing", "Learned nothing", evidence, f"likely cause: {cause}.", command)


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
    return Verdict("high_bias", "High bias: underfitting",
                   evidence, "the model is too simple or stopped too early: more units or layers, more epochs, "
                   "less regularization.", _retrain(numbers, f"fit.epochs={numbers.epochs_planned * 2}"))


def _high_variance(numbers: RunNumbers) -> Verdict | None:
    rows = [row for row in numbers.history if _finite(row.get("val_loss")) and _finite(row.get("loss"))]
    if len(rows) < 5:
        return None
    best = min(range(len(rows)), key=lambda index: rows[index]["val_loss"])
    last = rows[-1]
    rose = last["val_loss"] > rows[best]["val_loss"] * (1 + OVERFIT_RISE) and best < len(rows) - 1
    gap = last["val_loss"] > 1.5 * last["loss"] and last["val_loss"] - last["loss"] > 0.05
    if not (rose and gap):
        return None
    started = rows[best]["epoch"]
    evidence = (f"validation loss {last['val_loss']:.4f} against training loss {last['loss']:.4f} at the end; the "
                f"validation loss was lowest at epoch {started:g} ({rows[best]['val_loss']:.4f}) and rose after it "
                "while the training loss kept falling.")
    return Verdict("high_variance", "High variance: overfitting", evidence,
                   f"it memorises the training examples from about epoch {started:g}: stop there (early stopping), "
                   "add regularization or dropout, or get more data.",
                   _retrain(numbers, "fit.early_stopping.monitor=val_loss", "fit.early_stopping.patience=5"))


def _still_improving(numbers: RunNumbers) -> Verdict | None:
    losses = [row.get("loss") for row in numbers.history]
    if len(losses) < 6 or not all(_finite(loss) for loss in losses) or numbers.status != "finished":
        return None
    window = max(3, len(losses) // 10)
    validation = [row.get("val_loss") for row in numbers.history if _finite(row.get("val_loss"))]
    # what matters is the loss on examples it does not train on; averages over a window, as epochs are noisy
    watched = validation if len(validation) >= 2 * window else losses
    before = sum(watched[-2 * window:-window]) / window
    after = sum(watched[-window:]) / window
    fell = (before - after) / before if before > 0 else 0.0
    if fell <= STILL_IMPROVING or (watched is losses and after < 0.01):
        return None
    name = "validation" if watched is validation else "training"
    return Verdict("still_improving", "Still improving: train longer",
                   f"the {name} loss fell {fell:.1%} from one {window}-epoch stretch to the last ({before:.4g} → "
                   f"{after:.4g} on average): it had not settled.", "train for more epochs (or a larger learning "
                   "rate).", _retrain(numbers, f"fit.epochs={numbers.epochs_planned * 2}"))


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
    """The verdicts of a saved run (finished, failed or interrupted), from its files."""
    from nnlearn.baselines import baseline_metrics
    from nnlearn.prepare import prepare_saved_run
    run_dir = RunDir.open(run_dir)
    if prepared is None:
        prepared, _ = prepare_saved_run(run_dir)
    metrics = run_dir.metrics()
    status = run_dir.record().get("status", "unknown") if run_dir.has_record() else "unknown"
    baseline = (metrics.get("baseline") or {}).get("test") or baseline_metrics(prepared)
    config = prepared.config
    return diagnose(RunNumbers(run_dir.history(), metrics, baseline, config.fit.epochs,
                               config.compile.optimizer.learning_rate, config.data.normalize,
                               len(prepared.splits.test), str(status), run_dir=str(run_dir)))
