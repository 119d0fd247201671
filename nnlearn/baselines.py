"""What a model with no learning would score on the test split: the bar every metric must clear."""

from __future__ import annotations

import numpy as np

from nnlearn.prepare import Prepared


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
