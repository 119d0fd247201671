"""What no learning gives: the scores of a model that learned nothing (the bar every metric must clear),
and the loss an untrained model should start from."""

from __future__ import annotations

import math

import numpy as np

from nnlearn.config.schema import Config
from nnlearn.data.dataset import Dataset
from nnlearn.model.prepare import Prepared


def baseline_metrics(prepared: Prepared) -> dict[str, float]:
    """Majority class accuracy for classifiers; the training mean's mae, mse and r2 for regression."""
    train_y = prepared.splits.train.y
    test_y = prepared.splits.test.y
    wanted = prepared.config.compile.resolved_metrics()
    if prepared.dataset.kind == "classes":
        majority = np.bincount(train_y).argmax()
        return {"accuracy": float(np.mean(test_y == majority))} if "accuracy" in wanted else {}
    if prepared.dataset.kind == "multilabel":
        if "accuracy" not in wanted:
            return {}
        correct = test_y == (train_y.mean(axis=0) >= 0.5).astype(test_y.dtype)
        per_label = {f"accuracy_{name}": float(value)
                     for name, value in zip(prepared.dataset.class_names, correct.mean(axis=0))}
        return {"accuracy": float(correct.mean()), **per_label}
    train_y = train_y.reshape(len(train_y), -1)
    test_y = test_y.reshape(len(test_y), -1)
    error = test_y - train_y.mean(axis=0)
    total = np.sum((test_y - test_y.mean(axis=0)) ** 2)
    scores = {"mae": float(np.mean(np.abs(error))), "mse": float(np.mean(error ** 2)),
              "r2": float(1 - np.sum(error ** 2) / total) if total > 0 else 0.0}
    return {name: scores[name] for name in wanted if name in scores}


def expected_initial_loss(config: Config, dataset: Dataset, train_y: np.ndarray) -> tuple[float, str]:
    """What the loss should be before any training, when the model's outputs are near zero."""
    loss = config.compile.loss
    if loss in ("sparse_categorical_crossentropy", "categorical_crossentropy"):
        classes = dataset.n_classes
        return math.log(classes), (f"ln {classes} = {math.log(classes):.3f}: an untrained model gives "
                                   f"each of the {classes} classes about 1/{classes}")
    if loss == "binary_crossentropy":
        return math.log(2), "ln 2 = 0.693: an untrained model says about 0.5 for every example"
    targets = train_y.astype(np.float64).reshape(len(train_y), -1)
    if config.data.standardize_target:  # it predicts about 0 for the standardised target: the training mean
        value = float(np.mean((targets - targets.mean(axis=0)) ** 2))
        return value, (f"the variance of y, {value:.4g}: the target is standardised, so an untrained model "
                       "predicts about its training mean, and the error is y − mean (in y's own units)")
    value = float(np.mean(targets ** 2))
    return value, (f"mean(y²) = {value:.4g}: an untrained model predicts about 0, so the error is y "
                   "itself")


# a regression whose untrained loss, mean(y²), is above this has a target far from size 1 (|y| above 10):
# squared errors and gradients that large make plain gradient descent's steps huge
UNSCALED_TARGET_LOSS = 100
# a feature whose root mean square is above this many times 1, or below 1 over it, is far from size 1: the
# gradient along its weight is that much larger or smaller than along a standardised one's
UNSCALED_FEATURE = 10


def unscaled_feature_sizes(prepared: Prepared) -> tuple[float, float] | None:
    """With data.normalize: none, the sizes (root mean square over the training rows) of the smallest and
    the largest feature, when either is far from 1; else None. (Streamed rows are not read for it.)"""
    if prepared.config.data.normalize != "none" or prepared.feed.streamed:
        return None
    x = np.asarray(prepared.splits.train.x, dtype=np.float64).reshape(len(prepared.splits.train.x), -1)
    if not x.size:
        return None
    sizes = np.sqrt(np.mean(x ** 2, axis=0))
    smallest, largest = float(sizes.min()), float(sizes.max())
    far = largest > UNSCALED_FEATURE or 0 < smallest < 1 / UNSCALED_FEATURE
    return (smallest, largest) if far else None


def unscaled_target_loss(prepared: Prepared) -> float | None:
    """mean(y²) of a regression's training targets when they are far from size 1 and not standardised
    (data.standardize_target), else None."""
    train_y = prepared.splits.train.y
    if prepared.dataset.kind != "continuous" or prepared.config.data.standardize_target or train_y is None:
        return None
    value = float(np.mean(np.asarray(train_y, dtype=np.float64) ** 2))
    return value if value > UNSCALED_TARGET_LOSS else None


def initial_loss_gap(measured: float, expected: float) -> bool:
    """True when the loss before training is far from what an untrained model should give."""
    if not math.isfinite(measured):
        return True
    # freshly initialised weights already give logits of order 1, so only a large excess is a sign
    return measured > 2 * expected + 1 or measured < 0.25 * expected
